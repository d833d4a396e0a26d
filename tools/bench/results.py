"""What a run produced: measurements per (case, connections), the long checks, the context."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING  # part:events

from tools.bench.openloop import OpenLoopResult
from tools.bench.redis_stats import RedisCost, RedisUse, cost
from tools.bench.wrk import WrkResult

# >>> part:events
if TYPE_CHECKING:
    from tools.bench.events import EventsMeasurement
# <<< part:events


@dataclass
class Measurement:
    case: str
    via: str
    connections: int
    description: str
    runs: list[WrkResult] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)  # per worker, after the last run
    # CPU seconds each worker of the server under test spent during each run.
    worker_cpu_s: list[list[float]] = field(default_factory=list)
    # What Redis did during each run (the /getName cases only; tools/bench/redis_stats.py).
    redis: list[RedisUse] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    def _median(self, attr: str) -> float:
        values = [float(getattr(r, attr)) for r in self.runs]
        return statistics.median(values) if values else 0.0

    @property
    def rps(self) -> float:
        return self._median("rps")

    @property
    def ok_rps(self) -> float:
        """Median over the runs of the answers with a 2xx status per second."""
        values = [r.rps * (r.requests - r.non_2xx) / r.requests for r in self.runs if r.requests]
        return statistics.median(values) if values else 0.0

    @property
    def p50_ms(self) -> float:
        return self._median("p50_ms")

    @property
    def p99_ms(self) -> float:
        return self._median("p99_ms")

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.runs)

    @property
    def shed(self) -> int:
        return sum(r.shed for r in self.runs)

    @property
    def other_non_2xx(self) -> int:
        return sum(r.other_non_2xx for r in self.runs)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.runs)

    @property
    def cpu_us_per_request(self) -> float | None:
        """Median over the runs of the workers' CPU time per answered request."""
        values = [
            sum(cpu) / r.requests * 1e6
            for cpu, r in zip(self.worker_cpu_s, self.runs, strict=False)
            if r.requests and cpu
        ]
        return statistics.median(values) if values else None

    @property
    def busy_share(self) -> list[float]:
        """Each worker's share of the CPU time of the last run (0.5 each: evenly spread)."""
        if not self.worker_cpu_s or not sum(self.worker_cpu_s[-1]):
            return []
        last = self.worker_cpu_s[-1]
        return [x / sum(last) for x in last]

    @property
    def redis_cost(self) -> RedisCost | None:
        if not self.redis:
            return None
        return cost(self.redis, [r.requests for r in self.runs[-len(self.redis) :]])

    @property
    def failed(self) -> bool:
        return self.skipped is None and (self.error is not None or self.requests == 0)

    def to_json(self) -> dict[str, object]:
        return {
            "case": self.case,
            "via": self.via,
            "connections": self.connections,
            "description": self.description,
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "non_2xx": self.non_2xx,
            "shed": self.shed,
            "other_non_2xx": self.other_non_2xx,
            "socket_errors": self.socket_errors,
            "cpu_us_per_request": (
                round(self.cpu_us_per_request, 1) if self.cpu_us_per_request else None
            ),
            "worker_cpu_s": [[round(x, 3) for x in run] for run in self.worker_cpu_s],
            "rss_mb_per_worker": [round(x, 1) for x in self.rss_mb],
            "redis": [use.to_json() for use in self.redis],
            "error": self.error,
            "skipped": self.skipped,
            "runs": [asdict(r) for r in self.runs],
        }


@dataclass
class StormCheck:
    """A login storm with a probe of another endpoint running alongside."""

    duration_s: float
    connections: int
    login: WrkResult | None = None
    probe_case: str = "getName"
    probe: WrkResult | None = None
    max_rss_mb: list[float] = field(default_factory=list)  # per worker, sampled during the storm
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "duration_s": self.duration_s,
            "connections": self.connections,
            "login": asdict(self.login) if self.login else None,
            "probe_case": self.probe_case,
            "probe": asdict(self.probe) if self.probe else None,
            "max_rss_mb_per_worker": [round(x, 1) for x in self.max_rss_mb],
            "error": self.error,
        }


@dataclass
class ManyCheck:
    """Many connections against one case for a long time: every request must succeed."""

    case: str
    duration_s: float
    connections: int
    result: WrkResult | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "case": self.case,
            "duration_s": self.duration_s,
            "connections": self.connections,
            "result": asdict(self.result) if self.result else None,
            "error": self.error,
        }


@dataclass
class OpenLoopMeasurement:
    """One constant-rate run: `load` x the capacity its closed-loop case measured."""

    case: str
    load: float
    capacity_rps: float
    result: OpenLoopResult | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "case": self.case,
            "load": self.load,
            "capacity_rps": round(self.capacity_rps, 1),
            "result": self.result.to_json() if self.result else None,
            "error": self.error,
        }


@dataclass
class Run:
    started: str
    machine: dict[str, object]
    options: dict[str, object]
    load_before: tuple[float, float, float]
    argon2_verify_ms: float
    workers: int
    measurements: list[Measurement] = field(default_factory=list)
    rss_after_mb: list[float] = field(default_factory=list)
    # Idle (after start, before any load), per worker: the stack's and the naive reference's.
    idle_rss_mb: list[float] = field(default_factory=list)
    naive_rss_mb: list[float] = field(default_factory=list)
    storm: StormCheck | None = None
    many: ManyCheck | None = None
    open_loop: list[OpenLoopMeasurement] = field(default_factory=list)
    # >>> part:events
    # The `events` check, per broker (tools/bench/events.py).
    events: list[EventsMeasurement] = field(default_factory=list)
    # <<< part:events
    login_max_queue_s: float = 2.0
    # --baseline: {"ref", "commit", "subject", "workers"} of the other revision.
    baseline: dict[str, object] | None = None
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    finished: str = ""

    def find(self, case: str, connections: int) -> Measurement | None:
        for m in self.measurements:
            if m.case == case and m.connections == connections and m.runs:
                return m
        return None
