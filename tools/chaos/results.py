"""results/<kind>-<UTC time>.json: what a run measured, kept next to the benchmark results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "results"


def write_results(kind: str, payload: dict[str, object]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{kind}-{stamp}.json"
    path.write_text(json.dumps({"date": stamp, **payload}, indent=2, ensure_ascii=False) + "\n")
    return path
