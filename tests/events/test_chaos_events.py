"""`make chaos`'s event faults (tools/chaos/events.py), shortened, on NATS (the quickest broker
to restart): the broker stopped under /setName load and the relay killed mid-batch lose no
event and apply none twice, and the API keeps answering."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chaos.events import EventsTiming, run_events_chaos, table


@pytest.mark.faults
def test_broker_stop_and_relay_kill_lose_nothing_and_double_nothing() -> None:
    timing = EventsTiming(writers=4, steady=1.0, outage=3.0, observe=1.0)
    # Under run/, as make chaos: nginx's workers (nobody) cannot enter pytest's tmp_path.
    rows = run_events_chaos("nats", timing, Path("run/chaos-events-test"))
    assert [row.fault for row in rows] == ["broker stopped", "relay killed mid-batch"]
    assert all(row.passed for row in rows), table(rows)
    assert all(row.events > 0 and row.applied == row.events for row in rows), table(rows)
