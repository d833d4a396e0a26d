"""A route class for paths that answer several methods with separate handlers (GET and DELETE
on /accounts/me). Starlette answers a method a path lacks from the first route that matched
the path alone, so its 405 named only that route's methods (`Allow: GET` for a DELETE path);
RFC 9110 asks for every method the resource supports. Routes of this class answer 405 with the
methods of every route of the class on the same path."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send


class SharedPathRoute(APIRoute):
    _methods_of_path: ClassVar[dict[str, set[str]]] = {}

    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(path, *args, **kwargs)
        self._methods_of_path.setdefault(self.path, set()).update(self.methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = ", ".join(sorted(self._methods_of_path[self.path]))
            raise HTTPException(status_code=405, headers={"Allow": allowed})
        await super().handle(scope, receive, send)
