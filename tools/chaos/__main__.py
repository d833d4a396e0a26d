"""`make chaos`: faults under steady traffic through nginx; prints the table and writes
results/chaos-<UTC time>.json. `--overload` runs the overload checks instead. The event faults
(tools/chaos/events.py) run on each broker of `--brokers` (default: all; "" for none).

    python -m tools.chaos [--short] [--overload] [--brokers redis,rabbitmq,kafka,nats]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.chaos.events import EventsTiming, run_events_chaos  # part:events
from tools.chaos.events import table as events_table  # part:events
from tools.chaos.faults import REDIS_FAILOVER
from tools.chaos.overload import overload
from tools.chaos.report import BUDGET_SECONDS, table
from tools.chaos.results import write_results
from tools.chaos.scenario import Timing, run_scenario

BROKERS = ("redis", "rabbitmq", "kafka", "nats")  # part:events


def chaos(short: bool, brokers: list[str]) -> int:
    timing = Timing.short() if short else Timing.full()
    rows = run_scenario(timing, Path("run/chaos"))
    rows += run_scenario(timing, Path("run/chaos-cluster"), (REDIS_FAILOVER,))
    print(table(rows))
    passed = all(row.passed for row in rows)
    results: dict[str, object] = {
        "timing": timing.__dict__,
        "budget_seconds": BUDGET_SECONDS,
        "rows": [row.as_dict() for row in rows],
    }
    # >>> part:events
    events_timing = EventsTiming.short() if short else EventsTiming.full()
    event_rows = [
        row
        for broker in brokers
        for row in run_events_chaos(broker, events_timing, Path(f"run/chaos-events/{broker}"))
    ]
    if event_rows:
        print("\nEvents (tools/chaos/events.py):\n" + events_table(event_rows))
    passed = passed and all(row.passed for row in event_rows)
    results["events_timing"] = events_timing.__dict__
    results["events"] = [row.as_dict() for row in event_rows]
    # <<< part:events
    path = write_results("chaos", {**results, "passed": passed})
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
    # >>> part:events
    parser.add_argument(
        "--brokers", default=",".join(BROKERS), help="event faults on these brokers ('' none)"
    )
    # <<< part:events
    args = parser.parse_args()
    brokers: list[str] = []
    # >>> part:events
    brokers = [b for b in args.brokers.split(",") if b]
    unknown = set(brokers) - set(BROKERS)
    if unknown:
        parser.error(f"unknown brokers: {', '.join(sorted(unknown))}")
    # <<< part:events
    return run_overload() if args.overload else chaos(args.short, brokers)


if __name__ == "__main__":
    sys.exit(main())
