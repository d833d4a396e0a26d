"""The benchmark's `events` check (tools/bench/events.py) must not rot: a smoke-sized run on
Redis and NATS drives /setName through a stack per broker, the consumer receives every event
written, and the relay's throughput is measured. What it reports is not judged here (timing
belongs to `make bench`); that every part ran, and nothing was lost, is."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.tooling.test_bench_smoke import run_bench
from tools.bench.events import address_port
from tools.bench.procs import listening_pid

BROKERS = ("redis", "nats")
TIMEOUT_S = 300


@pytest.mark.e2e
def test_events_check_runs_per_broker_and_loses_nothing(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: `apt-get install wrk` (CI installs it)")
    output = tmp_path / "bench.json"
    args = ["--cases", "setName,events", "--events-brokers", ",".join(BROKERS)]
    proc = run_bench([*args, "--output", str(output)], timeout_s=TIMEOUT_S)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"

    result = json.loads(output.read_text())
    measured = {m["broker"]: m for m in result["events"]}
    assert tuple(measured) == BROKERS, result["events"]
    for broker, m in measured.items():
        assert m["error"] is None, (broker, m)
        assert m["events_written"] > 0, (broker, m)
        assert m["events_received"] == m["events_written"], (broker, m)
        assert m["relay_events_per_s"] > 0, (broker, m)
        assert m["set_name"]["ok"] > 0, (broker, m)
        assert {"api", "redis", "consumer"} <= m["cpu_us_per_event"].keys(), (broker, m)
        assert m["cpu_us_per_event"]["consumer"] > 0, (broker, m)
        assert 0 < m["host_busy"] <= 1.05, (broker, m)
    assert "broker" in measured["nats"]["cpu_us_per_event"]
    assert "| broker |" in proc.stdout  # the table of the report


@pytest.mark.parametrize(
    ("address", "port"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", 5672),
        ("nats://127.0.0.1:4222", 4222),
        ("127.0.0.1:9092", 9092),
        ("redis://127.0.0.1:6379/14", 6379),
        ("redis://127.0.0.1/0", None),
    ],
)
def test_the_port_of_a_broker_address(address: str, port: int | None) -> None:
    assert address_port(address) == port


def test_listening_pid_finds_the_process_listening_on_a_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert listening_pid(listener.getsockname()[1]) == os.getpid()
