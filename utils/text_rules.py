"""Text rules shared by request models: nothing PostgreSQL would reject reaches a query."""

from __future__ import annotations

import unicodedata

# Cc control, Cs lone surrogate, Co private use, Cn unassigned. Cf (ZWJ, RTL marks) is allowed:
# emoji sequences and right-to-left text need it.
REJECTED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


def reject_control_chars(value: str) -> str:
    if any(unicodedata.category(ch) in REJECTED_CATEGORIES for ch in value):
        raise ValueError("must not contain control characters")
    return value


def require_utf8(value: str) -> str:
    """Passwords may hold any character, but a lone surrogate cannot be hashed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value
