"""One row of the chaos table per fault, and the rules it is checked against."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from tools.chaos.faults import Fault
from tools.chaos.traffic import Sample

BUDGET_SECONDS = 2.0  # a failure must be this fast, and recovery at most this long
IN_FLIGHT_BOUND = 16  # a killed worker may take down at most the requests it was serving


@dataclass
class Row:
    fault: str
    sent: int
    failed: int
    relogins: int  # 401s after Redis lost its sessions: clients logged in again
    max_latency: float
    max_failure_latency: float
    recovery: float  # seconds from the dependency back until every kind of request succeeds
    restore_took: float  # how long bringing the dependency back took (not the app's doing)
    lost_writes: int  # users whose stored name is not their last acknowledged setName
    stale_reads: int  # users whose getName (cache included) disagrees with it
    workers_unchanged: bool
    failures_by_kind: dict[str, int] = field(default_factory=dict)  # "setName 503": count
    violations: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "passed": self.passed}


@dataclass(frozen=True)
class Window:
    injected: float
    restored: float
    restore_took: float
    end: float


def analyse(
    fault: Fault,
    samples: list[Sample],
    window: Window,
    *,
    lost_writes: int,
    stale_reads: int,
    workers_unchanged: bool,
) -> Row:
    mine = [s for s in samples if window.injected <= s.ended and s.started <= window.end]
    relogins = [s for s in mine if s.status == 401 and not fault.sessions_survive]
    failures = [s for s in mine if not s.ok and s not in relogins]
    late = [s.ended - window.restored for s in failures if s.ended > window.restored]
    for kind in fault.may_fail:  # the first success of each kind once the dependency is back
        successes = (
            s.ended for s in mine if s.kind == kind and s.ok and s.started >= window.restored
        )
        late.append(min(successes, default=window.end) - window.restored)  # end: never recovered
    row = Row(
        fault=fault.name,
        sent=len(mine),
        failed=len(failures),
        relogins=len(relogins),
        max_latency=round(max((s.seconds for s in mine), default=0.0), 3),
        max_failure_latency=round(max((s.seconds for s in failures), default=0.0), 3),
        recovery=round(max(late, default=0.0), 3),
        restore_took=round(window.restore_took, 3),
        lost_writes=lost_writes,
        stale_reads=stale_reads,
        workers_unchanged=workers_unchanged,
    )
    row.failures_by_kind = dict(Counter(f"{s.kind} {s.status}" for s in failures).most_common())
    row.violations = _violations(fault, row, failures, window)
    return row


def _violations(fault: Fault, row: Row, failures: list[Sample], window: Window) -> list[str]:
    found = []
    wrong_kind = {s.kind for s in failures} - fault.may_fail
    if wrong_kind:
        found.append(f"requests that do not need the dependency failed: {sorted(wrong_kind)}")
    bad = [s for s in failures if s.status not in fault.failure_statuses or not s.json_body]
    if bad:
        seen = ", ".join(sorted({f"{s.kind} {s.status or 'no answer'}" for s in bad}))
        found.append(f"{len(bad)} failures were not JSON {sorted(fault.failure_statuses)} ({seen})")
    if fault.dependency and any(s.dependency not in (fault.dependency, None) for s in failures):
        found.append(f"a 503 blamed another dependency than {fault.dependency}")
    if row.max_failure_latency > BUDGET_SECONDS:
        found.append(f"a failure took {row.max_failure_latency} s (> {BUDGET_SECONDS} s)")
    if fault.dependency and row.recovery > BUDGET_SECONDS:  # the app's own recovery
        found.append(f"recovery took {row.recovery} s (> {BUDGET_SECONDS} s)")
    if not fault.held and fault.dependency is None and row.failed > IN_FLIGHT_BOUND:
        found.append(f"{row.failed} failures: more than the requests in flight")
    if fault.workers_survive and not row.workers_unchanged:
        found.append("gunicorn workers were restarted")
    if row.lost_writes or row.stale_reads:
        found.append(f"{row.lost_writes} lost writes, {row.stale_reads} stale reads")
    return found


COLUMNS = ("fault", "sent", "failed", "max latency", "recovery", "lost writes", "result")


def table(rows: list[Row]) -> str:
    lines = [
        (
            row.fault,
            str(row.sent),
            f"{row.failed}" + (f" (+{row.relogins} re-logins)" if row.relogins else ""),
            f"{row.max_latency:.3f} s",
            f"{row.recovery:.3f} s",
            str(row.lost_writes),
            "ok" if row.passed else "FAIL: " + "; ".join(row.violations),
        )
        for row in rows
    ]
    widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(COLUMNS)]
    render = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
        for line in [COLUMNS, *lines]
    ]
    render.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(render)
