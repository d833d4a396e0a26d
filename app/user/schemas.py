"""Bodies of the user endpoints. Names: trimmed, 1-100 characters, any script, no control
characters (see utils/text_rules.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from utils.text_rules import reject_control_chars

NAME_MAX = 100


def clean_name(value: str) -> str:
    trimmed = value.strip()
    if not 1 <= len(trimmed) <= NAME_MAX:
        raise ValueError(f"name must be 1-{NAME_MAX} characters after trimming")
    return reject_control_chars(trimmed)


# pg_trgm makes trigrams from runs of letters and digits: a query with fewer has too few
# trigrams for the index to narrow the rows, and every row is scored.
SEARCH_MIN_WORD_CHARS = 3


def require_word_chars(value: str) -> str:
    if sum(ch.isalnum() for ch in value) < SEARCH_MIN_WORD_CHARS:
        raise ValueError(f"must contain at least {SEARCH_MIN_WORD_CHARS} letters or digits")
    return value


DisplayName = Annotated[str, Field(max_length=4 * NAME_MAX), AfterValidator(clean_name)]
SearchText = Annotated[
    str, AfterValidator(reject_control_chars), AfterValidator(require_word_chars)
]


class SetNameRequest(BaseModel):
    name: DisplayName


class UserName(BaseModel):
    username: str
    name: str


class UserMatch(BaseModel):
    username: str
    name: str
    score: float
