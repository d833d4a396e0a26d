"""What the benchmark measures. A case is one request pattern sent to one place ("via")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

# Where a case's requests go: nginx of the stack, gunicorn directly, the fixed-body nginx, the
# naive FastAPI app, plain uvicorn, or a --compare NAME.
Via = str
DataFile = Literal["tokens", "users"]

NGINX: Via = "nginx"
DIRECT: Via = "gunicorn"
FIXED: Via = "nginx-fixed"
UVICORN: Via = "uvicorn"
NAIVE: Via = "naive"
STACK_VIAS = frozenset({NGINX, DIRECT})
# --baseline REF: the service of another git revision, started beside the stack (its nginx and
# its gunicorn), against the same database and Redis index.
BASELINE = "baseline"
BASELINE_NGINX: Via = BASELINE
BASELINE_DIRECT: Via = f"{BASELINE}-gunicorn"

# nginx.conf neither serves nor stores a cached answer for a request with credentials
# (proxy_cache_bypass / proxy_no_cache $http_authorization); /v1/hello ignores the header.
CACHE_BYPASS_HEADER = "Authorization: Bearer bench-cache-bypass"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    via: Via
    path: str
    script: str
    description: str
    data: DataFile | None = None
    script_args: tuple[str, ...] = ()
    # Extra connection counts run in the full benchmark besides --connections (login at 1
    # connection measures its latency without queueing).
    extra_connections: tuple[int, ...] = ()
    # Also driven against every --compare URL.
    comparable: bool = False
    # Can shed load (503 + Retry-After from a pool or the hasher): wrk counts those apart.
    sheds: bool = False


CASES: tuple[Case, ...] = (
    Case(
        "hello",
        NGINX,
        "/v1/hello",
        "get.lua",
        "GET /v1/hello through nginx (micro-cached)",
        comparable=True,
    ),
    Case(
        "hello-uncached",
        NGINX,
        "/v1/hello",
        "get.lua",
        "GET /v1/hello through nginx, cache bypassed",
        script_args=(CACHE_BYPASS_HEADER,),
    ),
    Case("hello-direct", DIRECT, "/v1/hello", "get.lua", "GET /v1/hello straight to gunicorn"),
    Case(
        "getName",
        NGINX,
        "/getName",
        "get_name.lua",
        "GET /getName through nginx, a different session each request",
        data="tokens",
        comparable=True,
        sheds=True,
    ),
    Case(
        "getName-direct",
        DIRECT,
        "/getName",
        "get_name.lua",
        "GET /getName straight to gunicorn, a different session each request",
        data="tokens",
        sheds=True,
    ),
    Case(
        "login",
        NGINX,
        "/login",
        "login.lua",
        "POST /login through nginx, a different user each request",
        data="users",
        # 1: latency without queueing. 4: throughput without shedding (two logins per worker
        # never wait LOGIN_MAX_QUEUE_SECONDS); the open-loop rates are based on it, because at
        # 64+ wrk re-sends each shed login at once (it ignores Retry-After) and that retry
        # flood takes CPU from hashing.
        extra_connections=(1, 4),
        comparable=True,
        sheds=True,
    ),
    Case(
        "setName",
        NGINX,
        "/setName",
        "set_name.lua",
        "POST /setName through nginx, a different session each request",
        data="tokens",
        comparable=True,
        sheds=True,
    ),
    Case(
        "ref-fixed",
        FIXED,
        "/v1/hello",
        "get.lua",
        "reference: nginx answering a fixed JSON body itself (the ceiling)",
    ),
    Case(
        "ref-naive",
        NAIVE,
        "/v1/hello",
        "get.lua",
        "reference: a naive FastAPI app (one handler returning a dict), gunicorn -w 2",
    ),
    Case(
        "ref-naive-getName",
        NAIVE,
        "/getName",
        "get_name.lua",
        "reference: the naive app's GET /getName, one HGETALL of the session hash per request",
        data="tokens",
    ),
    Case(
        "ref-uvicorn",
        UVICORN,
        "/v1/hello",
        "get.lua",
        "reference: /v1/hello under plain `uvicorn main:app`, default settings",
    ),
)

# Longer checks of the full run (not in --smoke): a login storm with a probe of other
# endpoints, and many connections against /getName.
STORM = "login-storm"
MANY = "getName-1024"


@dataclass(frozen=True, slots=True)
class OpenLoopCase:
    """A constant arrival rate (tools/bench/openloop.py) at fractions of the capacity that the
    closed-loop case of the same name measured in the same run, through nginx."""

    name: str
    case: str
    data: DataFile
    loads: tuple[float, ...] = (0.7, 2.0)


OPEN_LOOP = (
    OpenLoopCase("login-open", "login", "users"),
    OpenLoopCase("setName-open", "setName", "tokens"),
)
# >>> part:events
# Domain events per broker (tools/bench/events.py): relay throughput, /setName -> consumer.
EVENTS = "events"
# <<< part:events
CHECKS = (
    STORM,
    MANY,
    *(o.name for o in OPEN_LOOP),
    EVENTS,  # part:events
)
CASE_NAMES = tuple(case.name for case in CASES) + CHECKS


def for_compare(case: Case, name: str) -> Case:
    return replace(case, name=f"{case.name}@{name}", via=name, extra_connections=())


# The cases that --baseline also runs on the other revision: the app's own cost (hello straight
# to gunicorn) and an authenticated request through nginx.
BASELINE_CASES = ("hello-direct", "getName")


def for_baseline(case: Case) -> Case:
    via = BASELINE_NGINX if case.via == NGINX else BASELINE_DIRECT
    return replace(
        case,
        name=f"{case.name}@{BASELINE}",
        via=via,
        description=f"baseline revision: {case.description}",
        extra_connections=(),
        comparable=False,
    )


def baseline_of(name: str) -> str | None:
    """The current stack's case that a baseline case is measured against."""
    head, sep, tail = name.rpartition("@")
    return head if sep and tail == BASELINE else None


def select(
    names: list[str] | None, compare: dict[str, str], *, baseline: bool = False
) -> list[Case]:
    chosen = [c for c in CASES if names is None or c.name in names]
    extra = [for_compare(c, n) for n in compare for c in chosen if c.comparable]
    if baseline:
        extra += [for_baseline(c) for c in chosen if c.name in BASELINE_CASES]
    return chosen + extra
