"""`make chaos-overload`: more load than the stack can serve, and clients that hold connections.

1. 1,024 wrk connections on GET /getName for 60 s: no errors, and the memory of nginx and the
   gunicorn processes stays bounded (sampled every second).
2. Small pools (1 PostgreSQL connection per worker), 256 connections of setName: the app sheds
   with 503 (+ Retry-After, see tests/tooling/test_chaos.py) once the pool wait passes
   DB_ACQUIRE_TIMEOUT, instead of queuing without end.
3. Slowloris (tools/chaos/slowloris.py): real clients keep being served.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from tools.bench import wrk
from tools.chaos.environment import ChaosEnvironment
from tools.chaos.logs import AppSummary, app_summary
from tools.chaos.memory import rss_mib, stack_pids
from tools.chaos.slowloris import SlowlorisResult, slowloris
from tools.chaos.traffic import Traffic

WRK_CONNECTIONS = 1024
RSS_GROWTH_LIMIT_MIB = 200.0  # nginx + gunicorn master + workers, start to peak
BUDGET_SECONDS = 2.0
# One PostgreSQL connection per worker and a short wait for it: setName must be shed with 503.
SHED_ENV = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "1", "DB_ACQUIRE_TIMEOUT": "0.2"}
SHED_CONNECTIONS = 256
SHED_SECONDS = 10.0


@dataclass
class LoadRun:
    """A wrk run through nginx, the app's own view of it, and the stack's memory meanwhile."""

    result: wrk.WrkResult
    app: AppSummary
    rss_start_mib: float
    rss_max_mib: float

    def as_dict(self, connections: int) -> dict[str, object]:
        return {
            **asdict(self.result),
            "connections": connections,
            "app_statuses": {str(k): v for k, v in sorted(self.app.statuses.items())},
            "app_max_ms": self.app.max_ms,
            "rss_start_mib": self.rss_start_mib,
            "rss_max_mib": self.rss_max_mib,
        }


def load(
    env: ChaosEnvironment,
    script: str,
    path: str,
    tokens: list[str],
    connections: int,
    seconds: float,
) -> LoadRun:
    """wrk with one of the benchmark's case scripts (tools/bench/lua), rotating over `tokens`."""
    assert env.stack is not None
    data = env.run_dir / "tokens.txt"
    data.write_text("\n".join(tokens) + "\n")
    command = wrk.command(
        url=env.stack.base_url,
        script=wrk.build_script(script, env.run_dir),
        connections=connections,
        threads=2,
        duration_s=seconds,
        args=[str(data)],
    )
    pids = stack_pids(env)
    peak = [rss_mib(pids)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            peak.append(rss_mib(pids))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = wrk.run(command, duration_s=seconds)
    finally:
        done.set()
        sampler.join()
    app = app_summary(env.run_dir / "gunicorn.log", path)
    return LoadRun(result=result, app=app, rss_start_mib=peak[0], rss_max_mib=max(peak))


async def login_tokens(env: ChaosEnvironment) -> list[str]:
    assert env.stack is not None
    traffic = Traffic(env.stack.base_url)
    tokens = []
    async with httpx.AsyncClient(base_url=env.stack.base_url, timeout=10.0) as http:
        for account in env.accounts:
            auth = await traffic.login(http, account)
            assert auth is not None, "login failed before the overload run"
            tokens.append(auth["Authorization"].split()[1])
    return tokens


def overload(seconds: float = 60.0) -> tuple[dict[str, object], list[str]]:
    with ChaosEnvironment(Path("run/overload"), users=8) as env:
        assert env.stack is not None
        tokens = asyncio.run(login_tokens(env))
        flood = load(env, "get_name.lua", "/getName", tokens, WRK_CONNECTIONS, seconds)
        loris = asyncio.run(slowloris(env.stack.host, env.stack.http_port, f"Bearer {tokens[0]}"))
    with ChaosEnvironment(Path("run/overload-shed"), users=8, extra_env=SHED_ENV) as env:
        tokens = asyncio.run(login_tokens(env))
        shed = load(env, "set_name.lua", "/setName", tokens, SHED_CONNECTIONS, SHED_SECONDS)
    payload: dict[str, object] = {
        "get_name_flood": flood.as_dict(WRK_CONNECTIONS),
        "slowloris": asdict(loris),
        "set_name_shed": {**shed.as_dict(SHED_CONNECTIONS), "pool": SHED_ENV},
    }
    return payload, violations(flood, loris, shed)


def violations(flood: LoadRun, loris: SlowlorisResult, shed: LoadRun) -> list[str]:
    found = []
    if flood.result.socket_errors or flood.result.non_2xx:
        found.append(
            f"getName flood: {flood.result.socket_errors} socket errors, "
            f"{flood.result.non_2xx} non-2xx"
        )
    if flood.rss_max_mib - flood.rss_start_mib > RSS_GROWTH_LIMIT_MIB:
        found.append(f"memory grew {flood.rss_max_mib - flood.rss_start_mib:.0f} MiB under load")
    if loris.probe_failures or loris.probe_max_seconds > 1.0:
        found.append(
            f"slowloris starved real clients: {loris.probe_failures} failures, "
            f"slowest {loris.probe_max_seconds} s"
        )
    if loris.cut_by_server < loris.opened:
        found.append(f"nginx kept {loris.opened - loris.cut_by_server} slow connections open")
    if set(shed.app.statuses) - {200, 503} or not shed.app.statuses.get(503):
        found.append(f"the small pool answered {dict(shed.app.statuses)}: expected 200 and 503")
    if shed.app.max_ms > BUDGET_SECONDS * 1000:
        found.append(f"a request waited {shed.app.max_ms:.0f} ms inside the app for the pool")
    return found
