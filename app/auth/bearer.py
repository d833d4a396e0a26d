"""Parsing of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110)."""

from __future__ import annotations

import re
import uuid

_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([0-9A-Fa-f-]{32,36}) *$")


def parse_bearer(header: str | None) -> str | None:
    """Return the session token in canonical form, or None when the header is not a bearer
    token of ours (a UUID)."""
    if not header:
        return None
    match = _BEARER.match(header)
    if match is None:
        return None
    try:
        return str(uuid.UUID(match.group(1)))
    except ValueError:
        return None
