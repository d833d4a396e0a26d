"""The order of a benchmark run: prepare, warm up, measure round-robin, long checks, clean up.

Runs of different cases are interleaved (run 1 of every case, then run 2, ...) so that drift in
the machine's background load spreads over all cases instead of biasing the ratios. A --baseline
case runs right after the same case and connection count of the current stack (A B A B ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis

from app.core.settings import Settings
from tools.bench import (
    events,  # part:events
    openloop,
    profile,
    redis_stats,
    wrk,
)
from tools.bench.baseline import BaselineStack, Revision, Worktree, resolve
from tools.bench.calibrate import argon2_verify_ms
from tools.bench.cases import (
    BASELINE_DIRECT,
    BASELINE_NGINX,
    CASES,  # part:events
    DIRECT,
    EVENTS,  # part:events
    FIXED,
    MANY,
    NAIVE,
    NGINX,
    OPEN_LOOP,
    STORM,
    UVICORN,
    Case,
    OpenLoopCase,
    baseline_of,
    select,
)
from tools.bench.procs import cpu_seconds, load_average, machine, rss_mb
from tools.bench.references import FixedBodyNginx, NaiveGunicorn, PlainUvicorn
from tools.bench.results import ManyCheck, Measurement, OpenLoopMeasurement, Run, StormCheck
from tools.bench.seed import ScratchDatabase, ScratchRedis, Seeded, seed
from tools.bench.stack import Stack, local_stack
from tools.devstack.throwaway import ThrowawayPgBouncer

PGBOUNCER = "pgbouncer"
ROOT = Path(__file__).resolve().parents[2]
PROBE_CONNECTIONS = 4
# nginx does not cancel what the app already received: after wrk stops, queued logins still run.
SETTLE_S = 3.0
COMPARE_LOGINS = 64
Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    duration_s: float = 10.0
    runs: int = 3
    connections: tuple[int, ...] = (64, 256)
    cases: tuple[str, ...] | None = None
    compare: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    smoke: bool = False
    threads: int = 2
    users: int = 2000
    workers: int | None = None
    warmup_s: float = 2.0
    storm_s: float = 60.0
    storm_connections: int = 64
    many_s: float = 60.0
    many_connections: int = 1024
    open_s: float = 20.0
    verify_rounds: int = 15
    admin_database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/14"
    run_dir: Path = Path("run/bench")
    # Cases whose first run is profiled with py-spy (one flame graph per worker) into profile_dir.
    profile: tuple[str, ...] = ()
    profile_dir: Path = Path("results/profile")
    pgbouncer: bool = False  # also the comparable cases on a second stack behind PgBouncer
    # A git revision whose service runs beside the stack (BASELINE_CASES on both, interleaved).
    baseline: str | None = None
    baseline_repo: Path = ROOT
    # >>> part:events
    # The `events` check's brokers (tools/bench/events.py).
    events_brokers: tuple[str, ...] = events.BROKERS
    events_relays: tuple[str, ...] = ("lifespan",)
    # <<< part:events

    def wanted(self, name: str) -> bool:
        return self.cases is None or name in self.cases

    def summary(self) -> dict[str, object]:
        return {
            "duration_s": self.duration_s,
            "runs": self.runs,
            "connections": list(self.connections),
            "cases": list(self.cases) if self.cases else None,
            "compare": self.compare,
            "pgbouncer": self.pgbouncer,
            "baseline": self.baseline,
            "env": self.env,
            "smoke": self.smoke,
            "threads": self.threads,
            "users": self.users,
            "storm": None if self.smoke else [self.storm_connections, self.storm_s],
            "many": None if self.smoke else [self.many_connections, self.many_s],
            "open_loop_s": None if self.smoke else self.open_s,
            "profile": list(self.profile),
            "events_brokers": list(self.events_brokers),  # part:events
            "events_relays": list(self.events_relays),  # part:events
        }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def levels(case: Case, opts: Options) -> list[int]:
    extra = () if opts.smoke else case.extra_connections
    return sorted(set(opts.connections) | set(extra))


def worker_rss(stack: Stack | NaiveGunicorn | BaselineStack) -> list[float]:
    values = [rss_mb(pid) for pid in stack.worker_pids()]
    return sorted((v for v in values if v is not None), reverse=True)


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}


def login_at(url: str, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(  # noqa: S310 (the URL the user asked to compare)
        f"{url}/login", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
        return token


def interleave(plan: list[tuple[Case, Measurement]]) -> list[tuple[Case, Measurement]]:
    """Each baseline (case, connections) right after the current stack's same pair."""
    partners = {
        (base, m.connections): (case, m)
        for case, m in plan
        if (base := baseline_of(case.name)) is not None
    }
    out = []
    for case, m in plan:
        if baseline_of(case.name) is not None:
            continue
        out.append((case, m))
        if (partner := partners.pop((case.name, m.connections), None)) is not None:
            out.append(partner)
    return out + list(partners.values())


def compare_tokens(url: str, seeded: Seeded, out: Path) -> Path | str:
    """Sessions at a --compare URL: log in there as seeded users. Works when that service sees
    the benchmark's database; otherwise the reason is returned and its session cases skip."""
    users = [line.split() for line in seeded.users_file.read_text().splitlines()]
    tokens = []
    try:
        for username, password in users[:COMPARE_LOGINS]:
            tokens.append(login_at(url, username, password))
    except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
        return f"no session at {url}: login as a seeded user failed ({exc})"
    out.write_text("\n".join(tokens) + "\n")
    return out


class Bench:
    def __init__(self, opts: Options, log: Log) -> None:
        self.opts = opts
        self.log = log
        self.urls: dict[str, str] = {}
        self.data: dict[tuple[str, str], Path | str] = {}  # (via, kind) -> file or skip reason
        self.stack: Stack | None = None
        self.naive: NaiveGunicorn | None = None
        self.baseline: BaselineStack | None = None
        # INFO commandstats / cpu around the /getName runs of the servers this run started.
        self.redis_client: Redis | None = None
        self.redis_vias = {NGINX, DIRECT, NAIVE, BASELINE_NGINX, BASELINE_DIRECT}
        # The worker processes behind a via, for CPU per request and the spread over workers.
        self.workers: dict[str, Callable[[], list[int]]] = {}

    # --- one wrk invocation ------------------------------------------------------------------

    def command(
        self, case: Case, connections: int, duration_s: float, base_url: str | None = None
    ) -> list[str] | str:
        """wrk's command line for `case`, against its via's URL or `base_url`."""
        args = list(case.script_args)
        if case.data is not None:
            source = self.data.get((case.via, case.data))
            if source is None or isinstance(source, str):
                return source or f"no {case.data} for {case.via}"
            args = [str(source)]
        script = wrk.build_script(case.script, self.run_dir, count_shed=case.sheds)
        return wrk.command(
            url=(base_url or self.urls[case.via]) + case.path,
            script=script,
            connections=connections,
            threads=self.opts.threads,
            duration_s=duration_s,
            args=args,
        )

    @property
    def run_dir(self) -> Path:
        return self.opts.run_dir

    def measure(self, case: Case, m: Measurement) -> None:
        cmd = self.command(case, m.connections, self.opts.duration_s)
        if isinstance(cmd, str):
            m.skipped = cmd
            return
        pids = self.workers[case.via]() if case.via in self.workers else []
        profiling = case.name in self.opts.profile and not m.runs
        if profiling:
            profilers = profile.start(
                pids, self.opts.duration_s, self.opts.profile_dir / f"{case.name}-c{m.connections}"
            )
        watch_redis = (
            self.redis_client if case.path == "/getName" and case.via in self.redis_vias else None
        )
        redis_before = redis_stats.snapshot(watch_redis) if watch_redis is not None else None
        before = cpu_of(pids)
        try:
            m.runs.append(wrk.run(cmd, duration_s=self.opts.duration_s))
        except wrk.WrkFailed as exc:
            m.error = str(exc)
            return
        finally:
            if profiling:
                for graph in profile.finish(profilers):
                    self.log(f"  flame graph: {graph}")
        after = cpu_of(pids)
        if watch_redis is not None and redis_before is not None:
            m.redis.append(redis_stats.delta(redis_before, redis_stats.snapshot(watch_redis)))
        m.worker_cpu_s.append(
            sorted((after[p] - before[p] for p in after if p in before), reverse=True)
        )
        if self.stack is not None and case.via in (NGINX, DIRECT):
            m.rss_mb = worker_rss(self.stack)
        if self.baseline is not None and case.via in (BASELINE_NGINX, BASELINE_DIRECT):
            m.rss_mb = worker_rss(self.baseline)
        last = m.runs[-1]
        cpu = f"  CPU/worker {' / '.join(f'{x:.1f}' for x in m.worker_cpu_s[-1])} s" if pids else ""
        if redis_before is not None and last.requests:
            cpu += f"  Redis CPU {m.redis[-1].cpu_s / last.requests * 1e6:.0f} µs/req"
        self.log(
            f"  {case.name:<16} {case.via:<11} c={m.connections:<4} {last.rps:>9,.0f} req/s  "
            f"p50 {last.p50_ms:7.1f} ms  p99 {last.p99_ms:7.1f} ms  shed {last.shed}  "
            f"other non-2xx {last.other_non_2xx}  socket {last.socket_errors}{cpu}"
        )

    # --- the phases -----------------------------------------------------------------------------

    def warm_up(self, cases: list[Case]) -> None:
        if self.opts.smoke or self.opts.warmup_s <= 0:
            return
        self.log(f"warming up ({self.opts.warmup_s:.0f} s per case)")
        for case in cases:
            cmd = self.command(case, max(levels(case, self.opts)), self.opts.warmup_s)
            if isinstance(cmd, list):
                with contextlib.suppress(wrk.WrkFailed):
                    wrk.run(cmd, duration_s=self.opts.warmup_s)
                if case.sheds:
                    # Requests the warm-up left queued would be shed in the first measured run.
                    time.sleep(SETTLE_S)

    def measure_all(self, cases: list[Case], run: Run) -> None:
        plan = interleave(
            [
                (case, Measurement(case.name, case.via, conns, case.description))
                for case in cases
                for conns in levels(case, self.opts)
            ]
        )
        run.measurements = [m for _, m in plan]
        for i in range(self.opts.runs):
            self.log(f"run {i + 1} of {self.opts.runs}")
            for case, m in plan:
                if m.error is None and m.skipped is None:
                    self.measure(case, m)

    def many(self, cases: list[Case]) -> ManyCheck:
        case = next(c for c in cases if c.name == "getName")
        check = ManyCheck(MANY, self.opts.many_s, self.opts.many_connections)
        self.log(f"{MANY}: {check.connections} connections for {check.duration_s:.0f} s")
        cmd = self.command(case, check.connections, check.duration_s)
        if isinstance(cmd, str):
            check.error = cmd
            return check
        try:
            check.result = wrk.run(cmd, duration_s=check.duration_s)
        except wrk.WrkFailed as exc:
            check.error = str(exc)
        return check

    def storm(self, cases: list[Case], stack: Stack) -> StormCheck:
        login = next(c for c in cases if c.name == "login")
        probe = next(c for c in cases if c.name == "getName")
        check = StormCheck(self.opts.storm_s, self.opts.storm_connections)
        self.log(
            f"{STORM}: {check.connections} connections for {check.duration_s:.0f} s, "
            f"{probe.name} probed alongside"
        )
        storm_cmd = self.command(login, check.connections, check.duration_s)
        probe_cmd = self.command(probe, PROBE_CONNECTIONS, check.duration_s)
        if isinstance(storm_cmd, str) or isinstance(probe_cmd, str):
            check.error = str(storm_cmd if isinstance(storm_cmd, str) else probe_cmd)
            return check
        peak: dict[int, float] = {}
        storm_proc, probe_proc = wrk.start(storm_cmd), wrk.start(probe_cmd)
        while storm_proc.poll() is None or probe_proc.poll() is None:
            for pid in stack.worker_pids():
                value = rss_mb(pid)
                if value is not None:
                    peak[pid] = max(peak.get(pid, 0.0), value)
            time.sleep(0.5)
        try:
            check.login = wrk.finish(storm_proc, timeout_s=30)
            check.probe = wrk.finish(probe_proc, timeout_s=30)
        except wrk.WrkFailed as exc:
            check.error = str(exc)
        check.max_rss_mb = sorted(peak.values(), reverse=True)
        return check

    def open_loop(self, spec: OpenLoopCase, run: Run) -> list[OpenLoopMeasurement]:
        """Each load of `spec` as a constant rate, relative to the best closed-loop throughput
        of its case in this run (2xx answers only: shed answers are not capacity)."""
        measured = [m for m in run.measurements if m.case == spec.case and m.runs]
        capacity = max((m.ok_rps for m in measured), default=0.0)
        out = [OpenLoopMeasurement(spec.name, load, capacity) for load in spec.loads]
        source = self.data.get((NGINX, spec.data))
        if not capacity or not isinstance(source, Path):
            for m in out:
                m.error = f"no closed-loop measurement of {spec.case} in this run"
            return out
        build = openloop.login_requests if spec.data == "users" else openloop.set_name_requests
        host = self.urls[NGINX].split("//", 1)[1]
        requests = build(source, host)
        for m in out:
            rate = m.load * capacity
            self.log(
                f"{spec.name}: {rate:,.0f} req/s ({m.load:.0%} of {capacity:,.0f}) for "
                f"{self.opts.open_s:.0f} s"
            )
            try:
                m.result = openloop.run(
                    self.urls[NGINX], requests, rate=rate, duration_s=self.opts.open_s
                )
            except OSError as exc:
                m.error = str(exc)
                continue
            r = m.result
            self.log(
                f"  answered {r.ok} ({r.ok_rps:,.0f}/s) p50 {r.p50_ms:.1f} ms p99 "
                f"{r.p99_ms:.1f} ms  shed {r.shed}  other non-2xx {r.other_non_2xx}  "
                f"socket {r.socket_errors}  connections {r.connections}"
            )
            time.sleep(SETTLE_S)
        return out

    # --- the whole run --------------------------------------------------------------------------

    def run(self) -> Run:
        opts = self.opts
        wrk.wrk_path()
        revision = resolve(opts.baseline_repo, opts.baseline) if opts.baseline else None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings.model_validate({})
        compare = dict(opts.compare)
        if opts.pgbouncer:
            compare[PGBOUNCER] = ""  # its URL once started
        cases = select(
            list(opts.cases) if opts.cases else None, compare, baseline=revision is not None
        )
        with contextlib.ExitStack() as cleanup:
            # The Redis index first: it is claimed the moment it is found empty.
            redis = self.claim_redis(cleanup)
            self.log("measuring one argon2id verification")
            verify = argon2_verify_ms(settings, rounds=opts.verify_rounds)
            db = self.scratch_database(cleanup, redis)
            seeded = asyncio.run(
                seed(
                    db=db,
                    redis_url=redis.url,
                    settings=settings,
                    users=opts.users,
                    out_dir=self.run_dir,
                )
            )
            env = {
                "ENV_FILE": "",
                "ENVIRONMENT": "development",
                "DATABASE_URL": db.url,
                "REDIS_URL": redis.url,
                "SEED_DEMO_USER": "false",
            }
            stack = self.start_stack(cleanup, {**env, **opts.env}, cases)
            if revision is not None and any(baseline_of(c.name) for c in cases):
                workers = len(stack.worker_pids()) if stack else opts.workers
                self.start_baseline(cleanup, {**env, **opts.env}, revision, workers)
            # The references keep their defaults: --env tunes the stack under test only.
            self.start_references(cleanup, env, cases)
            if opts.pgbouncer:
                compare[PGBOUNCER] = self.start_behind_pgbouncer(cleanup, {**env, **opts.env}, db)
            for via in self.urls:
                self.data[(via, "tokens")] = seeded.tokens_file
                self.data[(via, "users")] = seeded.users_file
            for name, url in compare.items():
                self.urls[name] = url
                self.data[(name, "users")] = seeded.users_file
                self.data[(name, "tokens")] = compare_tokens(
                    url, seeded, self.run_dir / f"tokens-{name}.txt"
                )
            run = Run(
                started=now(),
                machine=machine(),
                options=opts.summary(),
                load_before=load_average(),
                argon2_verify_ms=verify,
                workers=len(stack.worker_pids()) if stack else 0,
                login_max_queue_s=float(
                    opts.env.get("LOGIN_MAX_QUEUE_SECONDS", settings.login_max_queue_seconds)
                ),
            )
            if stack is not None:
                run.idle_rss_mb = worker_rss(stack)
            if self.naive is not None:
                run.naive_rss_mb = worker_rss(self.naive)
            if revision is not None:
                run.baseline = {
                    **revision.to_json(),
                    "workers": len(self.baseline.worker_pids()) if self.baseline else 0,
                }
            self.warm_up(cases)
            self.measure_all(cases, run)
            if stack is not None and not opts.smoke and opts.open_s > 0:
                for spec in OPEN_LOOP:
                    if opts.wanted(spec.name) and any(c.name == spec.case for c in cases):
                        run.open_loop += self.open_loop(spec, run)
            if stack is not None and not opts.smoke:
                if (
                    opts.many_s > 0
                    and opts.wanted(MANY)
                    and any(c.name == "getName" for c in cases)
                ):
                    run.many = self.many(cases)
                time.sleep(SETTLE_S)
                run.rss_after_mb = worker_rss(stack)
                if (
                    opts.storm_s > 0
                    and opts.wanted(STORM)
                    and {"getName", "login"} <= {c.name for c in cases}
                ):
                    run.storm = self.storm(cases, stack)
            elif stack is not None:
                run.rss_after_mb = worker_rss(stack)
            # >>> part:events
            if stack is not None and self.events_wanted(cases):
                stack.stop()  # its relay would hold the database's advisory lock
                run.events = self.events(run, {**env, **opts.env}, seeded)
            # <<< part:events
            run.load_after = load_average()
            run.finished = now()
            self.log("stopping the stack and removing the scratch database and keys")
        return run

    # >>> part:events
    def events_wanted(self, cases: list[Case]) -> bool:
        """In a full run, or when --cases names it (the smoke runs it only then)."""
        if not any(c.name == "setName" for c in cases):
            return False
        if self.opts.cases is not None:
            return EVENTS in self.opts.cases
        return not self.opts.smoke and self.opts.open_s > 0

    def set_name_capacity(self, base_url: str) -> float:
        """Closed-loop /setName 2xx/s against another stack (an events stack with its
        broker, relay and consumer running), as the setName case measures it."""
        case = next(c for c in CASES if c.name == "setName" and c.via == NGINX)
        cmd = self.command(case, self.opts.connections[0], self.opts.duration_s, base_url)
        if isinstance(cmd, str):
            raise RuntimeError(cmd)
        result = wrk.run(cmd, duration_s=self.opts.duration_s)
        return result.rps * (1 - result.non_2xx / max(result.requests, 1))

    def events(
        self, run: Run, env: dict[str, str], seeded: Seeded
    ) -> list[events.EventsMeasurement]:
        """The `events` check on each broker, at 70 % of the /setName capacity of the stack
        with that broker's events running."""
        capacity = events.capacity_of(run.measurements)
        out = []
        for name in self.opts.events_brokers:
            for relay in self.opts.events_relays:
                if not capacity:
                    m = events.EventsMeasurement(name, events.LOAD, relay, 0.0, 0.0)
                    m.error = "no closed-loop measurement of setName in this run"
                    out.append(m)
                    continue
                out.append(
                    events.measure(
                        name,
                        env=env,
                        folder=self.run_dir,
                        tokens=seeded.tokens_file,
                        capacity=capacity,
                        duration_s=self.opts.duration_s if self.opts.smoke else self.opts.open_s,
                        relay_events=events.SMOKE_RELAY_EVENTS
                        if self.opts.smoke
                        else events.RELAY_EVENTS,
                        workers=self.opts.workers,
                        log=self.log,
                        relay=relay,
                        capacity_probe=self.set_name_capacity,
                    )
                )
                time.sleep(SETTLE_S)
        return out

    # <<< part:events

    def claim_redis(self, cleanup: contextlib.ExitStack) -> ScratchRedis:
        redis = asyncio.run(ScratchRedis.open(self.opts.redis_url))
        cleanup.callback(lambda: asyncio.run(redis.remove_keys()))
        self.redis_client = Redis.from_url(self.opts.redis_url, socket_timeout=10)
        cleanup.callback(self.redis_client.close)
        return redis

    def scratch_database(
        self, cleanup: contextlib.ExitStack, redis: ScratchRedis
    ) -> ScratchDatabase:
        db = asyncio.run(ScratchDatabase.create(self.opts.admin_database_url))
        cleanup.callback(lambda: asyncio.run(db.drop()))
        self.log(f"scratch database {db.name}, Redis {redis.url}")
        return db

    def start_stack(
        self, cleanup: contextlib.ExitStack, env: dict[str, str], cases: list[Case]
    ) -> Stack | None:
        if not any(c.via in (NGINX, DIRECT) for c in cases):
            return None
        stack = local_stack(env=env, run_dir=self.run_dir / "stack", workers=self.opts.workers)
        self.log("starting the stack (gunicorn + nginx)")
        stack.start()
        cleanup.callback(stack.stop)
        self.stack = stack
        self.urls[NGINX] = stack.base_url
        self.urls[DIRECT] = stack.api_url
        self.workers[NGINX] = self.workers[DIRECT] = stack.worker_pids
        return stack

    def start_baseline(
        self,
        cleanup: contextlib.ExitStack,
        env: dict[str, str],
        revision: Revision,
        workers: int | None,
    ) -> None:
        """The revision's nginx + gunicorn from a worktree in the run folder, on the same
        database and Redis index as the stack (the seeded sessions work on both)."""
        tree = Worktree(self.opts.baseline_repo, revision.commit, self.run_dir / "baseline-src")
        self.log(
            f"checking out the baseline {revision.ref} ({revision.commit[:10]}) in {tree.path}"
        )
        tree.add()

        def remove() -> None:
            if (problem := tree.remove()) is not None:
                self.log(f"warning: {problem}")

        cleanup.callback(remove)
        stack = BaselineStack(
            tree.path, env=env, run_dir=self.run_dir / "stack-baseline", workers=workers
        )
        self.log(f"starting the baseline's gunicorn ({workers} workers) + nginx")
        stack.start()
        cleanup.callback(stack.stop)
        self.baseline = stack
        self.urls[BASELINE_NGINX] = stack.base_url
        self.urls[BASELINE_DIRECT] = stack.api_url
        self.workers[BASELINE_NGINX] = self.workers[BASELINE_DIRECT] = stack.worker_pids

    def start_behind_pgbouncer(
        self, cleanup: contextlib.ExitStack, env: dict[str, str], db: ScratchDatabase
    ) -> str:
        """A second stack whose pool goes through PgBouncer (transaction mode) to the same
        database: the `@pgbouncer` cases are the pooler's cost, measured in the same run."""
        bouncer = ThrowawayPgBouncer(db.url, strict=False)
        bouncer.start()
        cleanup.callback(bouncer.destroy)
        pooled = {
            **env,
            "DATABASE_URL": bouncer.url_for(db.url),
            "DB_PGBOUNCER": "true",
            "DATABASE_DIRECT_URL": db.url,
        }
        stack = local_stack(
            env=pooled, run_dir=self.run_dir / "stack-pgbouncer", workers=self.opts.workers
        )
        self.log("starting a second stack behind PgBouncer")
        stack.start()
        cleanup.callback(stack.stop)
        return stack.base_url

    def start_references(
        self, cleanup: contextlib.ExitStack, env: dict[str, str], cases: list[Case]
    ) -> None:
        vias = {c.via for c in cases}
        if FIXED in vias:
            fixed = FixedBodyNginx(self.run_dir / "fixed-nginx")
            fixed.start()
            cleanup.callback(fixed.stop)
            self.urls[FIXED] = fixed.url
        if NAIVE in vias:
            naive = NaiveGunicorn(self.run_dir / "naive", self.opts.redis_url)
            naive.start()
            cleanup.callback(naive.stop)
            self.urls[NAIVE] = naive.url
            self.workers[NAIVE] = naive.worker_pids
            self.naive = naive
        if UVICORN in vias:
            plain = PlainUvicorn(self.run_dir / "uvicorn", env)
            plain.start()
            cleanup.callback(plain.stop)
            self.urls[UVICORN] = plain.url
