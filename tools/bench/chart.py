"""The picture of a run: throughput and p99 of every case beside the references (matplotlib, one
SVG next to the JSON). docs/benchmark.md shows the latest full run's (docs/img/bench-latest.svg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from tools.bench.cases import BASELINE_DIRECT, BASELINE_NGINX, DIRECT, NGINX
from tools.bench.results import Run

STACK = "#1f77b4"
REFERENCE = "#9a9a9a"
OPEN_LOOP = "#2ca02c"
BASELINE = "#ff7f0e"


def _rows(run: Run) -> list[tuple[str, float, float, str]]:
    """(label, 2xx req/s, p99 ms, colour) per measured case and connection count."""
    rows = []
    for m in run.measurements:
        if not m.runs:
            continue
        colour = STACK if m.via in (NGINX, DIRECT) else REFERENCE
        if m.via in (BASELINE_NGINX, BASELINE_DIRECT):
            colour = BASELINE
        rows.append((f"{m.case} ({m.via}) c={m.connections}", m.ok_rps, m.p99_ms, colour))
    for o in run.open_loop:
        if o.result is not None:
            r = o.result
            label = f"{o.case} {o.load:.0%} = {r.rate:,.0f}/s (open loop)"
            rows.append((label, r.ok_rps, r.p99_ms, OPEN_LOOP))
    return rows


def write(run: Run, path: Path) -> Path | None:
    rows = _rows(run)
    if not rows:
        return None
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: a small, searchable SVG
    labels = [r[0] for r in rows]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 0.32 * len(rows) + 1.6), sharey=True, layout="constrained"
    )
    y = range(len(rows))
    left.barh(y, [max(r[1], 0.1) for r in rows], color=[r[3] for r in rows])
    left.set_xscale("log")
    left.set_xlabel("answered (2xx) requests/s, log scale: longer is better")
    right.barh(y, [max(r[2], 0.1) for r in rows], color=[r[3] for r in rows])
    right.set_xscale("log")
    right.set_xlabel("p99 latency ms, log scale: shorter is better")
    left.set_yticks(list(y), labels, fontsize=8)
    left.invert_yaxis()
    for axis, values, unit in (
        (left, [r[1] for r in rows], ""),
        (right, [r[2] for r in rows], " ms"),
    ):
        for i, value in enumerate(values):
            axis.text(value, i, f" {value:,.0f}{unit}", va="center", fontsize=7)
        axis.grid(axis="x", which="major", alpha=0.3)
    load = f"load average {run.load_before[0]:.1f} before, {run.load_after[0]:.1f} after"
    fig.suptitle(
        f"make bench {run.started}: {run.machine['nproc']} CPUs, {run.workers} workers, {load}; "
        "blue: this stack, orange: --baseline revision, grey: references, green: open loop",
        fontsize=9,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lstrip(".") or "svg")
    plt.close(fig)
    return path
