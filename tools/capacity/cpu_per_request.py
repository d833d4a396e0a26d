"""CPU time per request of each endpoint, split by process:
`python -m tools.capacity.cpu_per_request [--connections 64 --duration 10]`.

The benchmark's stack, seed and wrk scripts drive one case at a time; meanwhile the CPU time
(user + system, from /proc) of the gunicorn workers, the nginx processes and the PostgreSQL
backends of the scratch database (and PgBouncer, with --pgbouncer) is read before and after,
and Redis's own `INFO cpu` (a throwaway redis-server, so nobody else's commands count). CPU
time per request stays close to true on a busy shared host, where req/s does not: waiting for a
CPU costs no CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from app.core.settings import Settings
from tools.bench import wrk
from tools.bench.cases import CASES, NGINX
from tools.bench.runner import Bench, Options
from tools.bench.seed import ScratchDatabase, ScratchRedis, seed
from tools.bench.stack import local_stack
from tools.devstack.processes import children
from tools.devstack.throwaway import ThrowawayPgBouncer, ThrowawayRedis

ROOT = Path(__file__).resolve().parents[2]
CASE_NAMES = ("hello-uncached", "getName", "setName", "login")
TICKS = os.sysconf("SC_CLK_TCK")
BACKENDS_SQL = "SELECT pid FROM pg_stat_activity WHERE datname = $1"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process; 0 for one that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


async def redis_cpu_seconds(url: str) -> float:
    client = aioredis.from_url(url, decode_responses=True)
    try:
        info: dict[str, Any] = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def backend_pids(admin_url: str, database: str) -> list[int]:
    conn = await asyncpg.connect(admin_url)
    try:
        return [row["pid"] for row in await conn.fetch(BACKENDS_SQL, database)]
    finally:
        await conn.close()


def snapshot(groups: dict[str, list[int]]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pids in groups.values() for pid in pids}


def measure_case(bench: Bench, name: str, ctx: dict[str, Any]) -> dict[str, Any]:
    case = next(c for c in CASES if c.name == name)
    cmd = bench.command(case, ctx["connections"], ctx["duration"])
    assert not isinstance(cmd, str), cmd
    stack, db = ctx["stack"], ctx["db"]

    def groups() -> dict[str, list[int]]:
        nginx = [stack.nginx_pid, *children(stack.nginx_pid)]
        pg = asyncio.run(backend_pids(ctx["admin_url"], db.name))
        found = {"api": stack.worker_pids(), "nginx": nginx, "postgres": pg}
        if ctx["pgbouncer"] is not None:
            found["pgbouncer"] = [ctx["pgbouncer"].pid]
        return found

    before_groups, redis_before = groups(), asyncio.run(redis_cpu_seconds(ctx["redis_url"]))
    before = snapshot(before_groups)
    result = wrk.run(cmd, duration_s=ctx["duration"])
    after_groups = groups()
    after = snapshot(after_groups)
    redis_used = asyncio.run(redis_cpu_seconds(ctx["redis_url"])) - redis_before
    used = {
        group: sum(after.get(pid, 0.0) - before.get(pid, 0.0) for pid in set(pids))
        for group, pids in {
            g: before_groups.get(g, []) + after_groups.get(g, []) for g in after_groups
        }.items()
    }
    used["redis"] = redis_used
    requests = max(result.requests, 1)
    per_request = {group: round(1000 * seconds / requests, 3) for group, seconds in used.items()}
    per_request["total"] = round(sum(per_request.values()), 3)
    return {
        "case": name,
        "requests": result.requests,
        "req_per_s": round(result.rps),
        "non_2xx": result.non_2xx,
        "cpu_ms_per_request": per_request,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_dir = ROOT / "run" / "capacity"
    run_dir.mkdir(parents=True, exist_ok=True)
    opts = Options(run_dir=run_dir, threads=2, admin_database_url=args.admin_database_url)
    bench = Bench(opts, lambda message: print(message, file=sys.stderr))
    settings = Settings.model_validate({})
    server = ThrowawayRedis()
    server.start()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(server.stop)
        db = asyncio.run(ScratchDatabase.create(args.admin_database_url))
        cleanup.callback(lambda: asyncio.run(db.drop()))
        redis = asyncio.run(ScratchRedis.open(server.url))
        seeded = asyncio.run(
            seed(db=db, redis_url=redis.url, settings=settings, users=args.users, out_dir=run_dir)
        )
        env = {
            "ENV_FILE": "",
            "ENVIRONMENT": "development",
            "DATABASE_URL": db.url,
            "REDIS_URL": server.url,
            "SEED_DEMO_USER": "false",
            "ACCESS_LOG": "true",
        }
        bouncer = None
        if args.pgbouncer:  # production-like: no reset query after each transaction
            bouncer = ThrowawayPgBouncer(db.url, strict=False)
            bouncer.start()
            cleanup.callback(bouncer.destroy)
            env.update(
                DATABASE_URL=bouncer.url_for(db.url),
                DB_PGBOUNCER="true",
                DATABASE_DIRECT_URL=db.url,
            )
        stack = local_stack(env=env, run_dir=run_dir / "stack", workers=args.workers)
        stack.start()
        cleanup.callback(stack.stop)
        bench.urls[NGINX] = stack.base_url
        bench.data[(NGINX, "tokens")] = seeded.tokens_file
        bench.data[(NGINX, "users")] = seeded.users_file
        ctx = {
            "stack": stack,
            "db": db,
            "admin_url": args.admin_database_url,
            "redis_url": server.url,
            "connections": args.connections,
            "duration": args.duration,
            "pgbouncer": bouncer,
        }
        rows = [measure_case(bench, name, ctx) for name in args.cases.split(",")]
    return {
        "pgbouncer": args.pgbouncer,
        "connections": args.connections,
        "duration_s": args.duration,
        "workers": args.workers,
        "load_average": os.getloadavg(),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASE_NAMES))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pgbouncer", action="store_true", help="the pool through PgBouncer")
    parser.add_argument(
        "--admin-database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
    )
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
