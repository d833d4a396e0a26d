"""What the user feature refuses a request with."""

from __future__ import annotations

from app.auth.exceptions import InvalidToken
from app.http.errors import AppError


class UserGone(InvalidToken):
    """The session outlived its account (deleted): answered like any dead token, 401."""


class SearchTooBroad(AppError):
    """The query would match too much to rank within the search's time budget."""

    status_code = 422
    default_detail = "Search too broad; add more letters or digits"
    description = "Search too broad to answer within its time budget"
