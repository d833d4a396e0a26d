"""Routes of a resource whose path serves several methods (GET and POST on /v1/orders): a method
the path does not serve answers 405 with an `Allow` that names every method the path serves.

Starlette answers such a request from the first route whose path matches, naming that route's
methods only (`Allow: POST` to a PUT on /v1/orders): wrong for clients, and a failure of the
fuzz run's `Allow` check (`make fuzz`). A router whose paths carry several methods passes
`route_class=ResourceRoute`; the routers `make domain` writes do.

`add_routes` keeps a route's own class, so in a version retired with
`api_version(..., deprecation=...)` these routes would not get its marking route class: retiring
a version that holds them means giving that class this `handle` too.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Receive, Scope, Send


def methods_of_path(scope: Scope) -> list[str]:
    """Every method some route of the app serves at this request's path."""
    methods: set[str] = set()
    for route in getattr(scope.get("router"), "routes", ()):
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(scope)[0] is not Match.NONE:
            methods.update(route_methods)
    return sorted(methods)


class ResourceRoute(APIRoute):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            raise HTTPException(
                status_code=405, headers={"Allow": ", ".join(methods_of_path(scope))}
            )
        await super().handle(scope, receive, send)
