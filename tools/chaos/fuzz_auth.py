"""schemathesis hook module (SCHEMATHESIS_HOOKS=tools.chaos.fuzz_auth): a real bearer token for
every generated request. The fuzzer itself calls /logout and /logout/all, so those run as a
second user (their own cached token), the admin operations (/v1/admin/...) as an admin, and a
401 makes schemathesis log in again and replay the request (its default `retry_on=[401]`).

The admin operations act on accounts by id: one that names an account of the fuzzer's own acts
on a spare account instead (FUZZ_SPARE_ID), since disabling the fuzzer's own would end its
logins, not find a bug."""

from __future__ import annotations

import os
import time
from typing import Any

import requests
import schemathesis

from tools.chaos.ast_lock import serialise_ast_parse

serialise_ast_parse()  # the workers' threads would break each other's ast.parse (CPython 3.11.7)
LOGIN_ATTEMPTS = 50  # nginx limits /login to 5/s per address and the fuzzer uses it too


PROTECTED_IDS = {int(i) for i in os.environ.get("FUZZ_PROTECTED_IDS", "").split(",") if i}


def as_id(value: Any) -> int | None:
    """The id the API would read: the coverage phase sends path parameters as text ("1", " 01",
    "1.0"), the fuzzing phase as numbers."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def account(case: Any, context: Any) -> str:
    """1 for the logout operations, which end sessions, `admin` for the admin ones, else 0 (also
    the token cache key)."""
    path = str(case.operation.path)
    if path.startswith("/v1/admin/"):
        return "admin"
    return "1" if path.startswith("/logout") else "0"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    parameters = case.path_parameters
    if parameters and as_id(parameters.get("user_id")) in PROTECTED_IDS:
        parameters["user_id"] = int(os.environ["FUZZ_SPARE_ID"])


@schemathesis.auth(cache_by_key=account).skip_for(path="/login")
class BearerLogin:
    def get(self, case: Any, context: Any) -> str:
        which = account(case, context)
        credentials = {
            "username": os.environ[f"FUZZ_USERNAME_{which}"],
            "password": os.environ[f"FUZZ_PASSWORD_{which}"],
        }
        for _ in range(LOGIN_ATTEMPTS):
            response = requests.post(
                f"{os.environ['FUZZ_BASE_URL']}/login", json=credentials, timeout=5
            )
            if response.status_code != 429:
                break
            time.sleep(0.25)
        response.raise_for_status()
        header = str(response.headers["Authorization"])
        # The runner checks afterwards that no issued token reached a log line.
        with open(os.environ["FUZZ_TOKENS_FILE"], "a") as tokens:
            tokens.write(header.split()[1] + "\n")
        return header

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": data}
