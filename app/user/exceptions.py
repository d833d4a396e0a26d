"""What the user feature refuses a request with."""

from __future__ import annotations

from app.auth.exceptions import InvalidToken


class UserGone(InvalidToken):
    """The session outlived its account (deleted): answered like any dead token, 401."""
