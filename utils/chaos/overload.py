"""`make chaos-overload`: more load than the stack can serve, and clients that hold connections.

1. 1,024 wrk connections on GET /getName for 60 s: no errors, and the memory of nginx and the
   gunicorn processes stays bounded (sampled every second).
2. Small pools (1 PostgreSQL connection per worker): a burst of setName is shed with 503 +
   Retry-After within the pool wait limit instead of queuing without end.
3. Slowloris (utils/chaos/slowloris.py): real clients keep being served.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from utils.bench import wrk
from utils.chaos.environment import ChaosEnvironment
from utils.chaos.shed import ShedResult, shed_burst
from utils.chaos.slowloris import SlowlorisResult, slowloris
from utils.chaos.traffic import Traffic
from utils.devstack.processes import children

WRK_CONNECTIONS = 1024
RSS_GROWTH_LIMIT_MIB = 200.0  # nginx + gunicorn master + workers, start to peak
BUDGET_SECONDS = 2.0
SHED_ENV = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "1", "DB_ACQUIRE_TIMEOUT": "0.2"}


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # exited
    return round(total / 1024, 1)


def stack_pids(env: ChaosEnvironment) -> list[int]:
    assert env.stack is not None
    nginx_master = int((env.run_dir / "nginx.pid").read_text())
    return [env.stack.gunicorn_pid, *env.stack.worker_pids(), nginx_master, *children(nginx_master)]


@dataclass
class WrkRun:
    result: wrk.WrkResult
    rss_start_mib: float
    rss_max_mib: float


def get_name_flood(env: ChaosEnvironment, tokens: list[str], seconds: float) -> WrkRun:
    assert env.stack is not None
    data = env.run_dir / "tokens.txt"
    data.write_text("\n".join(tokens) + "\n")
    script = wrk.build_script("get_name.lua", env.run_dir)
    command = wrk.command(
        url=env.stack.base_url,
        script=script,
        connections=WRK_CONNECTIONS,
        threads=2,
        duration_s=seconds,
        args=[str(data)],
    )
    pids = stack_pids(env)
    start = rss_mib(pids)
    peak = [start]
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
    return WrkRun(result=result, rss_start_mib=start, rss_max_mib=max(peak))


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
        flood = get_name_flood(env, tokens, seconds)
        loris = asyncio.run(slowloris(env.stack.host, env.stack.http_port, f"Bearer {tokens[0]}"))
    with ChaosEnvironment(Path("run/overload-shed"), users=1, extra_env=SHED_ENV) as env:
        assert env.stack is not None
        auth = {"Authorization": f"Bearer {asyncio.run(login_tokens(env))[0]}"}
        shed = asyncio.run(shed_burst(env.stack.base_url, auth, clients=200, seconds=5.0))
    payload: dict[str, object] = {
        "get_name_flood": {
            **asdict(flood.result),
            "rss_start_mib": flood.rss_start_mib,
            "rss_max_mib": flood.rss_max_mib,
            "connections": WRK_CONNECTIONS,
        },
        "slowloris": asdict(loris),
        "shed": asdict(shed),
    }
    return payload, violations(flood, loris, shed)


def violations(flood: WrkRun, loris: SlowlorisResult, shed: ShedResult) -> list[str]:
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
    if set(shed.statuses) - {200, 503} or shed.shed_without_retry_after:
        found.append(
            f"shedding answered {shed.statuses}; "
            f"{shed.shed_without_retry_after} 503s without Retry-After"
        )
    if shed.max_seconds > BUDGET_SECONDS:
        found.append(f"a shed request took {shed.max_seconds} s (> {BUDGET_SECONDS} s)")
    return found
