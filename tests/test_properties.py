"""Property tests (hypothesis) for the pieces with rules: display names, the `Authorization`
header, and settings read from environment strings."""

from __future__ import annotations

import os
import unicodedata
import uuid
from collections.abc import AsyncIterator
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.auth.accounts import create_user
from app.auth.bearer import parse_bearer
from app.core.settings import PLACEHOLDER_MARKERS, Settings
from app.user.schemas import NAME_MAX, SetNameRequest, clean_name
from tests.conftest import RunningApp, User, http_client, login, make_settings, running
from tests.production_settings import production_environment
from tests.services import TestDatabase, TestRedis
from tools.devstack.throwaway import ThrowawayRedis

# Generated inputs are cheap, but the first examples pay for imports: no per-example deadline.
FAST = settings(max_examples=300, deadline=None)
# The documented rule (docs/security.md), written out here and not imported from the app: a
# change to the app's own list must break these tests, not silently move their oracle with it.
# Cc control, Cs surrogate, Co private use, Cn unassigned are refused; Cf (ZWJ, RTL marks) is not.
REJECTED_CATEGORIES = ("Cc", "Cs", "Co", "Cn")
ALLOWED_CHAR = st.characters(exclude_categories=REJECTED_CATEGORIES)  # type: ignore[arg-type]
REJECTED_CHAR = st.characters(categories=REJECTED_CATEGORIES)  # type: ignore[arg-type]


def _has_rejected(text: str) -> bool:
    return any(unicodedata.category(ch) in REJECTED_CATEGORIES for ch in text)


# --- names -------------------------------------------------------------------------------------


@FAST
@given(st.text(max_size=500))
def test_clean_name_accepts_exactly_the_trimmed_valid_names(raw: str) -> None:
    trimmed = raw.strip()
    valid = 1 <= len(trimmed) <= NAME_MAX and not _has_rejected(trimmed)
    try:
        cleaned = clean_name(raw)
    except ValueError:
        assert not valid
    else:
        assert valid
        assert cleaned == trimmed


@FAST
@given(st.text(alphabet=ALLOWED_CHAR, min_size=1, max_size=NAME_MAX), st.text(" \t\n", max_size=5))
def test_any_script_is_accepted_and_preserved(name: str, padding: str) -> None:
    assume(name.strip())
    body = SetNameRequest.model_validate({"name": padding + name + padding})
    assert body.name == name.strip()


@FAST
@given(st.text(alphabet=ALLOWED_CHAR, max_size=45), REJECTED_CHAR, st.text(max_size=45))
def test_a_control_character_inside_a_name_is_refused(before: str, bad: str, after: str) -> None:
    # Inside: trimming may remove control characters that are also whitespace (\t, \x1c, \x85)
    # from the ends, and what is trimmed is not part of the name.
    with pytest.raises(ValidationError):
        SetNameRequest.model_validate({"name": f"a{before}{bad}{after}z"})


@FAST
@given(st.integers(min_value=NAME_MAX + 1, max_value=4 * NAME_MAX), ALLOWED_CHAR)
def test_names_longer_than_the_limit_are_refused(length: int, char: str) -> None:
    assume(not char.isspace())
    with pytest.raises(ValidationError):
        SetNameRequest.model_validate({"name": char * length})


@pytest.fixture(scope="module")
async def name_app(database: TestDatabase, redis_db: TestRedis) -> AsyncIterator[RunningApp]:
    """The app with its own redis-server: user ids restart at 1 in every scratch database, so
    a shared Redis DB index would mix this user's sessions with another test run's."""
    server = ThrowawayRedis()
    server.start()
    try:
        async with running(make_settings(database, redis_db, redis_url=server.url)) as started:
            yield started
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def name_owner(name_app: RunningApp) -> AsyncIterator[dict[str, str]]:
    """One user and session for every example (a login per example would cost an argon2 hash)."""
    password = "property-test-password"
    username = f"prop_{uuid.uuid4().hex[:10]}"
    state = name_app.state
    user_id = await create_user(
        pool=state.pool, hasher=state.hasher, username=username, password=password
    )
    async with http_client(name_app) as client:
        yield await login(client, User(id=user_id, username=username, password=password, name=""))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=ALLOWED_CHAR, min_size=1, max_size=NAME_MAX))
async def test_database_stores_any_accepted_name_exactly(
    name_app: RunningApp, name_owner: dict[str, str], name: str
) -> None:
    """What the API accepts, PostgreSQL's own constraints accept too (never a 500)."""
    assume(name.strip())
    async with http_client(name_app) as client:
        written = await client.post("/setName", json={"name": name}, headers=name_owner)
        assert written.status_code == 200, written.text
        read = await client.get("/getName", headers=name_owner)
    assert written.json()["name"] == read.json()["name"] == name.strip()


# --- Authorization header ----------------------------------------------------------------------

SCHEME = st.sampled_from("bB").flatmap(
    lambda b: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in "earer")).map(
        lambda rest: b + "".join(rest)
    )
)


@FAST
@given(st.one_of(st.none(), st.text(), st.text().map(lambda t: "Bearer " + t)))
def test_parse_bearer_never_raises_and_returns_only_canonical_uuids(header: str | None) -> None:
    token = parse_bearer(header)
    assert token is None or token == str(uuid.UUID(token))


@FAST
@given(st.uuids(), SCHEME, st.integers(1, 3), st.booleans())
def test_any_scheme_case_and_uuid_form_is_accepted(
    token: uuid.UUID, scheme: str, spaces: int, upper: bool
) -> None:
    sent = str(token).upper() if upper else str(token)
    assert parse_bearer(f"{scheme}{' ' * spaces}{sent}") == str(token)


@FAST
@given(st.uuids(), st.sampled_from(["Basic", "Token", "Bearer:", "Bearerx", ""]))
def test_other_schemes_are_refused(token: uuid.UUID, scheme: str) -> None:
    assert parse_bearer(f"{scheme} {token}") is None
    assert parse_bearer(str(token)) is None  # no scheme at all


# --- settings from environment strings ---------------------------------------------------------


def settings_from_env(values: dict[str, str]) -> Settings:
    """Settings read the way the service reads them: environment strings, no dotenv file."""
    with patch.dict(os.environ, values):
        return Settings(_env_file=None)


ORIGIN = st.from_regex(r"https?://[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True)
BLANKS = st.text(" \t", max_size=3)


@FAST
@given(st.lists(st.tuples(BLANKS, ORIGIN, BLANKS), max_size=5), st.booleans())
def test_cors_origins_are_split_trimmed_and_blanks_dropped(
    parts: list[tuple[str, str, str]], trailing_comma: bool
) -> None:
    raw = ",".join(a + origin + b for a, origin, b in parts) + ("," if trailing_comma else "")
    assert settings_from_env({"CORS_ORIGINS": raw}).cors_origins == [o for _, o, _ in parts]


@FAST
@given(st.integers(1, 65535), st.integers(1, 10**6), BLANKS)
def test_integers_are_read_from_env_strings(port: int, ttl: int, blank: str) -> None:
    loaded = settings_from_env({"API_PORT": f"{blank}{port}", "SESSION_TTL_SECONDS": str(ttl)})
    assert (loaded.api_port, loaded.session_ttl_seconds) == (port, ttl)


@FAST
@given(st.integers(max_value=0) | st.integers(min_value=65536))
def test_out_of_range_ports_are_refused(port: int) -> None:
    with pytest.raises(ValidationError):
        settings_from_env({"API_PORT": str(port)})


TRUE_WORDS = ["1", "true", "yes", "on", "t", "y"]
FALSE_WORDS = ["0", "false", "no", "off", "f", "n"]
ANY_CASE = st.sampled_from(TRUE_WORDS + FALSE_WORDS).flatmap(
    lambda w: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in w)).map("".join)
)


@FAST
@given(ANY_CASE)
def test_booleans_are_read_from_env_strings_in_any_case(word: str) -> None:
    assert settings_from_env({"ACCESS_LOG": word}).access_log is (word.lower() in TRUE_WORDS)


PROD_ENV = production_environment(SEED_DEMO_USER="false")
MARKER = st.sampled_from(PLACEHOLDER_MARKERS).flatmap(
    lambda m: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in m)).map("".join)
)
SAFE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789:/@._"
SAFE_TEXT = st.text(alphabet=SAFE_ALPHABET, max_size=20)
SECRET_VARIABLES = [
    "DATABASE_URL",
    "REDIS_URL",
    "GATEWAY_SECRET",  # part:gateway
]


@FAST
@given(st.sampled_from(SECRET_VARIABLES), SAFE_TEXT, MARKER, SAFE_TEXT)
def test_production_never_starts_with_a_placeholder_secret(
    variable: str, before: str, marker: str, after: str
) -> None:
    with pytest.raises(ValidationError, match=variable):
        settings_from_env({**PROD_ENV, variable: before + marker + after})


@FAST
@given(st.text(alphabet=SAFE_ALPHABET, min_size=32, max_size=64))  # GATEWAY_SECRET_MIN_LENGTH
def test_production_accepts_real_secrets_and_hides_docs(secret: str) -> None:
    assume(not any(marker in secret for marker in PLACEHOLDER_MARKERS))
    real: dict[str, str] = {}
    real["GATEWAY_SECRET"] = secret  # part:gateway
    loaded = settings_from_env({**PROD_ENV, **real})
    assert loaded.is_production
    assert loaded.show_docs is False
