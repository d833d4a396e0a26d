"""Command line of the benchmark: `python -m tools.bench [options]` (`make bench`)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from tools.bench import chart, report
from tools.bench.baseline import BaselineError
from tools.bench.cases import BASELINE_CASES, CASE_NAMES
from tools.bench.events import BROKERS, RELAYS  # part:events
from tools.bench.runner import Bench, Options
from tools.bench.seed import SeedError
from tools.bench.wrk import WrkMissing

ROOT = Path(__file__).resolve().parents[2]
SMOKE = {"runs": 1, "connections": (4,), "users": 200, "verify_rounds": 5}
SMOKE_DURATION_S = 3.0  # unless --duration is given
DURATION_S = 10.0


def _compare(value: str) -> tuple[str, str]:
    name, sep, url = value.partition("=")
    if not sep or not name or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError("expected NAME=http://host:port")
    return name, url.rstrip("/")


def _env(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key, val


def _cases(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in CASE_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASE_NAMES)}"
        )
    return names


# >>> part:events
def _brokers(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in BROKERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(BROKERS)}")
    return names


def _relays(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names or not set(names) <= set(RELAYS):
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(RELAYS)}")
    return names


# <<< part:events


def _connections(value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(n) for n in value.split(",") if n.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("expected numbers, e.g. 64,256") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("expected positive numbers, e.g. 64,256")
    return levels


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Benchmark the real stack (nginx -> gunicorn -> PostgreSQL/Redis) with wrk.",
    )
    p.add_argument("--duration", type=float, default=None, help="seconds per run (10; --smoke: 3)")
    p.add_argument("--runs", type=int, default=3, help="runs per case; the median is kept (3)")
    p.add_argument(
        "--connections",
        type=_connections,
        default=(64, 256),
        help="comma-separated connection counts (64,256)",
    )
    p.add_argument(
        "--cases",
        type=_cases,
        default=None,
        help=f"comma-separated subset of: {', '.join(CASE_NAMES)}",
    )
    p.add_argument(
        "--compare",
        type=_compare,
        action="append",
        default=[],
        metavar="NAME=URL",
        help="also drive this base URL with the same cases (repeatable)",
    )
    p.add_argument(
        "--baseline",
        default=None,
        metavar="REF",
        help="also start the service of this git revision (its own gunicorn + nginx, same "
        f"database and Redis index) and run {', '.join(BASELINE_CASES)} on it, interleaved "
        "with the current stack's runs; the report adds current / baseline ratios",
    )
    p.add_argument(
        "--baseline-repo",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="the git repository holding --baseline REF (this checkout)",
    )
    p.add_argument(
        "--pgbouncer",
        action="store_true",
        help="also run the comparable cases on a second stack behind PgBouncer (@pgbouncer)",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="3 s (or --duration), 1 run, 4 connections, no long checks; non-zero exit on any "
        "error",
    )
    p.add_argument(
        "--env",
        type=_env,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the stack, e.g. GUNICORN_MAX_REQUESTS=0 (repeatable)",
    )
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (default: what gunicorn.py.ini chooses)",
    )
    p.add_argument("--users", type=int, default=2000, help="seeded users and sessions (2000)")
    p.add_argument("--storm", type=float, default=60.0, help="login storm seconds (60; 0 skips it)")
    p.add_argument(
        "--many", type=float, default=60.0, help="1,024-connection check seconds (60; 0 skips it)"
    )
    p.add_argument(
        "--open",
        type=float,
        default=20.0,
        help="seconds per open-loop (constant rate) run (20; 0 skips them)",
    )
    # >>> part:events
    p.add_argument(
        "--events-brokers",
        type=_brokers,
        default=BROKERS,
        help=f"the events check's brokers, comma-separated ({','.join(BROKERS)})",
    )
    p.add_argument(
        "--events-relays",
        type=_relays,
        default=("lifespan",),
        help="where the events check's relay runs: lifespan (in the API, the default), "
        "process (python -m app.cli relay-events), or both: lifespan,process",
    )
    # <<< part:events
    p.add_argument(
        "--admin-database-url",
        default=os.environ.get(
            "BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL connection allowed to CREATE/DROP DATABASE",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="an empty Redis DB index the run may use (DB 14)",
    )
    p.add_argument(
        "--profile",
        type=_cases,
        default=(),
        metavar="CASES",
        help="py-spy flame graph of every worker during the first run of these cases "
        "(results/profile-<time>/)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON result file (results/bench-<time>.json; smoke: results/tmp/)",
    )
    return p


def options(args: argparse.Namespace, stamp: str) -> Options:
    opts = Options(
        duration_s=args.duration or (SMOKE_DURATION_S if args.smoke else DURATION_S),
        runs=args.runs,
        connections=args.connections,
        cases=args.cases,
        compare=dict(args.compare),
        env=dict(args.env),
        threads=args.threads,
        users=args.users,
        workers=args.workers,
        storm_s=args.storm,
        many_s=args.many,
        open_s=args.open,
        admin_database_url=args.admin_database_url,
        redis_url=args.redis_url,
        run_dir=ROOT / "run" / f"bench-{stamp}",
        profile=args.profile,
        profile_dir=ROOT / "results" / f"profile-{stamp}",
        pgbouncer=args.pgbouncer,
        baseline=args.baseline,
        baseline_repo=args.baseline_repo.resolve(),
        events_brokers=args.events_brokers,  # part:events
        events_relays=args.events_relays,  # part:events
    )
    if args.smoke:
        opts = replace(opts, smoke=True, **SMOKE)  # type: ignore[arg-type]
    return opts


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the clean-up of everything the run started


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.baseline and args.cases and not set(BASELINE_CASES) & set(args.cases):
        p.error(f"--baseline runs {' or '.join(BASELINE_CASES)}: --cases has neither")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    opts = options(args, stamp)
    folder = ROOT / "results" / ("tmp" if opts.smoke else "")
    output: Path = args.output or folder / f"bench-{stamp}.json"
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run = Bench(opts, log).run()
    except WrkMissing as exc:
        log(f"error: {exc}")
        return 2
    except (SeedError, BaselineError) as exc:
        log(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; everything the run started was stopped")
        return 130
    report.write_json(run, output)
    picture = chart.write(run, output.with_suffix(".svg"))
    print(report.render(run))
    print(f"\nJSON: {output}")
    if picture is not None:
        print(f"chart: {picture}")
    failed = [m for m in run.measurements if m.failed]
    errors = [m for m in run.measurements if m.non_2xx or m.socket_errors]
    if failed:
        log("failed: " + ", ".join(f"{m.case}@{m.connections} ({m.error})" for m in failed))
        return 1
    if opts.smoke and errors:
        log("errors in smoke: " + ", ".join(f"{m.case}@{m.connections}" for m in errors))
        return 1
    return 0
