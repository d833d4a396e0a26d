"""What a new password must be (OWASP ASVS V2.1): at least `password_min_length` characters
(12 by default), at most 128, any characters, no composition rules, not one of the common
passwords shipped in data/ (offline: no network at run time), and not the username."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
PASSWORD_MAX_LENGTH = 128  # ASVS V2.1.2
LEAST_MIN_LENGTH = 8  # the setting's floor: shorter list entries could never matter


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-case, without the entries no policy could accept anyway."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(
            word for line in lines if len(word := line.strip().lower()) >= LEAST_MIN_LENGTH
        )


class PasswordPolicy:
    def __init__(self, *, min_length: int) -> None:
        self.min_length = min_length
        self._common = common_passwords()

    def problem(self, password: str, *, username: str) -> str | None:
        """Why the password is refused, or None when it is acceptable."""
        if len(password) < self.min_length:
            return f"must be at least {self.min_length} characters long"
        if len(password) > PASSWORD_MAX_LENGTH:
            return f"must be at most {PASSWORD_MAX_LENGTH} characters long"
        if password.casefold() == username.casefold():
            return "must not be the username"
        if password.lower() in self._common:
            return "is too common (it appears in lists of breached passwords)"
        return None
