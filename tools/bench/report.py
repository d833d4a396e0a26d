"""The table and the JSON file of one run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from tools.bench import events  # part:events
from tools.bench.results import Measurement, Run
from tools.bench.targets import Target, against_baseline, informational, targets


def _row(m: Measurement) -> str:
    if m.skipped or m.error or not m.runs:
        why = m.skipped or m.error or "no result"
        return f"| {m.case} | {m.via} | {m.connections} | {why} | | | | | | | | |"
    rss = " / ".join(f"{x:.0f}" for x in m.rss_mb) if m.rss_mb else "-"
    cpu = f"{m.cpu_us_per_request:.0f}" if m.cpu_us_per_request else "-"
    split = " / ".join(f"{x:.0%}" for x in m.busy_share) if m.busy_share else "-"
    return (
        f"| {m.case} | {m.via} | {m.connections} | {m.rps:,.0f} | {m.p50_ms:.1f} | "
        f"{m.p99_ms:.1f} | {m.shed} | {m.other_non_2xx} | {m.socket_errors} | {cpu} | "
        f"{split} | {rss} |"
    )


def table(run: Run) -> str:
    lines = [
        "| case | via | conns | req/s | p50 ms | p99 ms | shed | other non-2xx | socket err "
        "| worker CPU µs/req | CPU split | RSS/worker MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(m) for m in run.measurements),
    ]
    return "\n".join(lines)


def open_loop_table(run: Run) -> str:
    lines = [
        "| open loop | load | rate req/s | answered req/s | p50 ms | p99 ms | shed | "
        "other non-2xx | socket err | connections |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in run.open_loop:
        r = m.result
        if r is None:
            lines.append(f"| {m.case} | {m.load:.0%} | {m.error} | | | | | | | |")
            continue
        lines.append(
            f"| {m.case} | {m.load:.0%} | {r.rate:,.0f} | {r.ok_rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p99_ms:.1f} | {r.shed} | {r.other_non_2xx} | {r.socket_errors} | "
            f"{r.connections} |"
        )
    return "\n".join(lines)


def _cpu(m: Measurement) -> str:
    return f"{m.cpu_us_per_request:.0f}" if m.cpu_us_per_request else "-"


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def baseline_rows(run: Run) -> list[dict[str, object]]:
    return [
        {
            "case": current.case,
            "connections": current.connections,
            "current_rps": round(current.rps, 1),
            "baseline_rps": round(base.rps, 1),
            "ratio": round(current.rps / base.rps, 3) if base.rps else None,
            "current_p99_ms": round(current.p99_ms, 2),
            "baseline_p99_ms": round(base.p99_ms, 2),
            "current_cpu_us_per_request": _round(current.cpu_us_per_request),
            "baseline_cpu_us_per_request": _round(base.cpu_us_per_request),
            "runs": [len(current.runs), len(base.runs)],
        }
        for current, base in against_baseline(run)
    ]


def baseline_table(run: Run) -> str:
    b = run.baseline or {}
    commit = str(b.get("commit", ""))[:10]
    lines = [
        f'Current / baseline ({b.get("ref")} = {commit} "{b.get("subject", "")}", '
        f"{b.get('workers')} workers): medians, runs interleaved A B A B",
        "",
        "| case | conns | current req/s | baseline req/s | current / baseline | p99 ms current "
        "| p99 ms baseline | worker CPU µs/req current | worker CPU µs/req baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for current, base in against_baseline(run):
        ratio = f"{current.rps / base.rps:.2f}" if base.rps else "-"
        lines.append(
            f"| {current.case} | {current.connections} | {current.rps:,.0f} | {base.rps:,.0f} | "
            f"{ratio} | {current.p99_ms:.1f} | {base.p99_ms:.1f} | {_cpu(current)} | "
            f"{_cpu(base)} |"
        )
    return "\n".join(lines)


def redis_rows(run: Run) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for m in run.measurements:
        c = m.redis_cost
        if c is None:
            continue
        rows.append(
            {
                "case": m.case,
                "connections": m.connections,
                "requests": c.requests,
                "commands_usec_per_request": round(c.commands_usec_per_request, 2),
                "redis_cpu_usec_per_request": round(c.cpu_usec_per_request, 2),
                "commands": [
                    {
                        "command": r.command,
                        "calls_per_request": round(r.calls_per_request, 3),
                        "usec_per_call": round(r.usec_per_call, 2),
                        "in_script": r.nested,
                    }
                    for r in c.commands
                ],
            }
        )
    return rows


def redis_table(run: Run) -> str:
    lines = [
        "Redis per /getName request (INFO commandstats and INFO cpu before and after each run; "
        "server-wide counters): commands = the client-sent commands' time; Redis CPU = the "
        "server process's CPU, network I/O included",
        "",
        "| case | conns | commands µs/req | Redis CPU µs/req | per command: calls/req x µs/call |",
        "|---|---:|---:|---:|---|",
    ]
    for m in run.measurements:
        c = m.redis_cost
        if c is None:
            continue
        parts = [
            f"{r.command}{' (in script)' if r.nested else ''} "
            f"{r.calls_per_request:.2f} x {r.usec_per_call:.2f}"
            for r in c.commands
        ]
        lines.append(
            f"| {m.case} | {m.connections} | {c.commands_usec_per_request:.1f} | "
            f"{c.cpu_usec_per_request:.1f} | {'; '.join(parts)} |"
        )
    return "\n".join(lines)


def targets_table(items: list[Target], *, goals: bool = True) -> str:
    if not goals:
        lines = ["| ratio | measured | note |", "|---|---|---|"]
        return "\n".join(lines + [f"| {t.name} | {t.value} | {t.note} |" for t in items])
    mark = {True: "met", False: "MISSED", None: "-"}
    lines = ["| target | measured | goal | | note |", "|---|---|---|---|---|"]
    lines += [f"| {t.name} | {t.value} | {t.goal} | {mark[t.met]} | {t.note} |" for t in items]
    return "\n".join(lines)


def render(run: Run) -> str:
    m = run.machine
    head = (
        f"Benchmark {run.started} on {m['nproc']} CPUs ({m['cpu_model']}), "
        f"{m['memory_mb']} MB RAM; {run.workers} gunicorn workers; load average before "
        f"{run.load_before[0]:.2f}, after {run.load_after[0]:.2f}; medians of "
        f"{run.options['runs']} runs x {run.options['duration_s']} s; one argon2id "
        f"verification {run.argon2_verify_ms:.1f} ms"
    )
    parts = [head, "", table(run)]
    if run.open_loop:
        parts += ["", open_loop_table(run)]
    # >>> part:events
    if run.events:
        parts += ["", events.table(run.events)]
    # <<< part:events
    if against_baseline(run):
        parts += ["", baseline_table(run)]
    if any(m.redis for m in run.measurements):
        parts += ["", redis_table(run)]
    parts += ["", targets_table(targets(run))]
    extra = informational(run)
    if extra:
        parts += ["", targets_table(extra, goals=False)]
    return "\n".join(parts)


def to_json(run: Run) -> dict[str, object]:
    return {
        "started": run.started,
        "finished": run.finished,
        "machine": run.machine,
        "options": run.options,
        "load_before": run.load_before,
        "load_after": run.load_after,
        "argon2_verify_ms": round(run.argon2_verify_ms, 2),
        "workers": run.workers,
        "cases": [m.to_json() for m in run.measurements],
        "rss_after_mb_per_worker": [round(x, 1) for x in run.rss_after_mb],
        "idle_rss_mb_per_worker": [round(x, 1) for x in run.idle_rss_mb],
        "naive_idle_rss_mb_per_worker": [round(x, 1) for x in run.naive_rss_mb],
        "storm": run.storm.to_json() if run.storm else None,
        "many": run.many.to_json() if run.many else None,
        "open_loop": [m.to_json() for m in run.open_loop],
        "events": [m.to_json() for m in run.events],  # part:events
        "login_max_queue_s": run.login_max_queue_s,
        "baseline": run.baseline,
        "against_baseline": baseline_rows(run),
        "redis_per_get_name": redis_rows(run),
        "targets": [asdict(t) for t in targets(run)],
        "informational": [asdict(t) for t in informational(run)],
    }


def write_json(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(run), indent=2) + "\n")
