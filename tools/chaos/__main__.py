"""`make chaos`: faults under steady traffic through nginx; prints the table and writes
results/chaos-<UTC time>.json. `--overload` runs the overload checks instead.

    python -m tools.chaos [--short] [--overload]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.chaos.faults import REDIS_FAILOVER
from tools.chaos.overload import overload
from tools.chaos.report import BUDGET_SECONDS, table
from tools.chaos.results import write_results
from tools.chaos.scenario import Timing, run_scenario


def chaos(short: bool) -> int:
    timing = Timing.short() if short else Timing.full()
    rows = run_scenario(timing, Path("run/chaos"))
    rows += run_scenario(timing, Path("run/chaos-cluster"), (REDIS_FAILOVER,))
    print(table(rows))
    passed = all(row.passed for row in rows)
    path = write_results(
        "chaos",
        {
            "timing": timing.__dict__,
            "budget_seconds": BUDGET_SECONDS,
            "passed": passed,
            "rows": [row.as_dict() for row in rows],
        },
    )
    print(f"\n{'PASSED' if passed else 'FAILED'}; written to {path}")
    return 0 if passed else 1


def run_overload() -> int:
    payload, problems = overload()
    print(json.dumps(payload, indent=2))
    path = write_results("overload", {**payload, "passed": not problems, "violations": problems})
    print("\n".join(problems) or "PASSED", f"; written to {path}")
    return 0 if not problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the test suite's shorter timing")
    parser.add_argument("--overload", action="store_true", help="1,024 connections and slowloris")
    args = parser.parse_args()
    return run_overload() if args.overload else chaos(args.short)


if __name__ == "__main__":
    sys.exit(main())
