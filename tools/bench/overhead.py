"""What observability costs, measured: `python -m tools.bench.overhead` (`make bench-overhead`).

Five stacks of the same code on one scratch database and Redis, differing only in settings:
`metrics` (the defaults: metrics on, tracing off), `no-metrics` (METRICS_ENABLED=false),
`tracing` (metrics on, plus OTEL_EXPORTER_OTLP_ENDPOINT at a loopback receiver that drops what
it is sent: every span is made, batched, serialised and exported, then thrown away) and
`tracing-unexported` (OTEL_TRACES_EXPORTER=none: spans made and ended, never exported), and
`tracing-sampled` (like `tracing`, one request in ten sampled). Runs are
interleaved (run 1 of every pair, then run 2, ...), the two sides of a pair back to back in
alternating order, and the ratio reported is the median of the per-run ratios: on a shared
machine that cancels most of the background load, which moves both sides of one run alike.

    /v1/hello straight to gunicorn:  metrics / no-metrics  >= 0.95
    /getName through nginx:          tracing / metrics     >= 0.75
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from app.core.settings import Settings
from tools.bench import wrk
from tools.bench.procs import load_average
from tools.bench.seed import ScratchDatabase, ScratchRedis, seed
from tools.bench.stack import Stack, local_stack

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Pair:
    name: str
    path: str
    script: str
    via_nginx: bool
    measured: str  # stack names
    baseline: str
    goal: float


PAIRS = (
    Pair(
        "hello direct: metrics / no-metrics",
        "/v1/hello",
        "get.lua",
        False,
        "metrics",
        "no-metrics",
        0.95,
    ),
    Pair(
        "getName: tracing / metrics", "/getName", "get_name.lua", True, "tracing", "metrics", 0.75
    ),
    # Context, no goal: spans made but never exported (OTEL_TRACES_EXPORTER=none), which
    # separates what the instrumentation costs from what batching and export cost.
    Pair(
        "getName: unexported spans / metrics",
        "/getName",
        "get_name.lua",
        True,
        "tracing-unexported",
        "metrics",
        0.0,
    ),
    # Context, no goal: what production would run, one request in ten traced and exported.
    Pair(
        "getName: 10 % sampled / metrics",
        "/getName",
        "get_name.lua",
        True,
        "tracing-sampled",
        "metrics",
        0.0,
    ),
)


class _DropHandler(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that reads each export and answers success, keeping nothing."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def span_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DropHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(url: str, script: Path, args: list[str], opts: argparse.Namespace) -> wrk.WrkResult:
    cmd = wrk.command(
        url=url,
        script=script,
        connections=opts.connections,
        threads=2,
        duration_s=opts.duration,
        args=args,
    )
    return wrk.run(cmd, duration_s=opts.duration)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench.overhead", description=__doc__)
    p.add_argument("--duration", type=float, default=5.0, help="seconds per run (5)")
    p.add_argument("--runs", type=int, default=9, help="interleaved runs per stack (9)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    p.add_argument("--users", type=int, default=2000, help="seeded sessions (2000)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="an empty DB index")
    p.add_argument("--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--output", type=Path, default=None, help="JSON result file")
    p.add_argument("--only", default="", help="only the pairs whose name contains this text")
    opts = p.parse_args(argv)
    pairs = [pair for pair in PAIRS if opts.only in pair.name]
    run_dir = ROOT / "run" / "bench-overhead"
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.model_validate({})
    results: dict[tuple[str, str], list[wrk.WrkResult]] = {}
    with contextlib.ExitStack() as cleanup:
        redis = asyncio.run(ScratchRedis.open(opts.redis_url))
        cleanup.callback(lambda: asyncio.run(redis.remove_keys()))
        db = asyncio.run(ScratchDatabase.create(opts.admin_database_url))
        cleanup.callback(lambda: asyncio.run(db.drop()))
        seeded = asyncio.run(
            seed(db=db, redis_url=redis.url, settings=settings, users=opts.users, out_dir=run_dir)
        )
        sink = cleanup.enter_context(span_sink())
        base = {
            "ENV_FILE": "",
            "ENVIRONMENT": "development",
            "DATABASE_URL": db.url,
            "REDIS_URL": redis.url,
            "SEED_DEMO_USER": "false",
        }
        variants = {
            "metrics": {},
            "no-metrics": {"METRICS_ENABLED": "false"},
            "tracing": {"OTEL_EXPORTER_OTLP_ENDPOINT": sink, "OTEL_SERVICE_NAME": "bench"},
            "tracing-unexported": {"OTEL_TRACES_EXPORTER": "none"},
            "tracing-sampled": {
                "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.1",
            },
        }
        stacks: dict[str, Stack] = {}
        needed = {side for pair in pairs for side in (pair.measured, pair.baseline)}
        for name, extra in variants.items():
            if name not in needed:
                continue
            log(f"starting stack {name}")
            stack = local_stack(env={**base, **extra}, run_dir=run_dir / name, workers=None)
            stack.start()
            cleanup.callback(stack.stop)
            stacks[name] = stack
        load_before = load_average()
        for i in range(opts.runs + 1):  # run 0 warms every stack up and is not kept
            log(f"run {i} of {opts.runs}" + (" (warm-up)" if i == 0 else ""))
            for pair in pairs:
                script = wrk.build_script(pair.script, run_dir)
                args = [str(seeded.tokens_file)] if pair.script == "get_name.lua" else []
                # ABBA: the side measured first alternates, so neither profits from going first.
                sides = (pair.measured, pair.baseline)
                for side in sides if i % 2 else reversed(sides):
                    stack = stacks[side]
                    url = (stack.base_url if pair.via_nginx else stack.api_url) + pair.path
                    result = measure(url, script, args, opts)
                    log(
                        f"  {pair.path:<10} {side:<18} {result.rps:>9,.0f} req/s  "
                        f"p99 {result.p99_ms:6.1f} ms  "
                        f"errors {result.non_2xx + result.socket_errors}"
                    )
                    if i > 0:
                        results.setdefault((pair.name, side), []).append(result)
        load_after = load_average()
    report = {
        "options": vars(opts) | {"output": str(opts.output)},
        "load_before": load_before,
        "load_after": load_after,
        "pairs": [],
    }
    failed = False
    print(
        f"\nconnections {opts.connections}, {opts.runs} interleaved runs of {opts.duration:.0f} s"
    )
    for pair in pairs:
        tops = [r.rps for r in results[(pair.name, pair.measured)]]
        bottoms = [r.rps for r in results[(pair.name, pair.baseline)]]
        top, bottom = statistics.median(tops), statistics.median(bottoms)
        # The two sides of one run were measured back to back, under about the same background
        # load: the median of those paired ratios is what counts on a shared machine.
        ratio = statistics.median(a / b for a, b in zip(tops, bottoms, strict=True) if b)
        met = ratio >= pair.goal
        failed = failed or not met
        verdict = "context" if not pair.goal else "met" if met else "MISSED"
        goal = f"goal >= {pair.goal}" if pair.goal else "no goal"
        print(
            f"  {pair.name:<38} {ratio:5.3f} ({goal})  {top:,.0f} / {bottom:,.0f} req/s  {verdict}"
        )
        report["pairs"].append(  # type: ignore[attr-defined]
            {
                "name": pair.name,
                "ratio": ratio,  # median of the per-run ratios
                "ratio_of_medians": top / bottom if bottom else 0.0,
                "goal": pair.goal,
                "measured_rps": top,
                "baseline_rps": bottom,
                "runs": {
                    side: [r.rps for r in results[(pair.name, side)]]
                    for side in (pair.measured, pair.baseline)
                },
            }
        )
    print(f"  load average before / after: {load_before} / {load_after}")
    output = opts.output or ROOT / "results" / "bench-overhead.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"JSON: {output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
