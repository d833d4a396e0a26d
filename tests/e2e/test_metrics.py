"""Prometheus metrics through the real nginx and two gunicorn workers: one scrape of any worker
counts every worker's requests, a killed worker's counts stay, and only the internal network
(the API's own port) serves them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import start_stack
from tests.e2e.target import BASE_URL, compose_exec
from tools.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

BATCH = 200
MAX_BATCHES = 20
HELLO = {"route": "/v1/hello", "method": "GET", "status": "200"}


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prometheus")


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, metrics_dir: Path) -> Iterator[LocalStack]:
    if BASE_URL:
        pytest.skip("needs the local stack (kills a worker, reads the metrics files)")
    started = start_stack(request, "metrics", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    try:
        yield started
    finally:
        started.stop()


def hello_count(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "http_requests_total"
        and all(sample.labels.get(k) == v for k, v in HELLO.items())
    )


def worker_hello_count(metrics_dir: Path, pid: int, scratch: Path) -> float:
    """What one worker's own files say (the files of one pid, collected alone)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    for file in metrics_dir.glob(f"*_{pid}.db"):
        shutil.copy(file, scratch)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(scratch))  # type: ignore[no-untyped-call]
    return hello_count(generate_latest(registry).decode())


async def hello_count_settled(stack: LocalStack, expected: int) -> float:
    """The scrape's count once it reaches `expected`, or after 5 s: each worker writes its
    counts about once a second (and the one answering the scrape, at once)."""
    for _ in range(50):
        count = hello_count(await scrape(stack))
        if count == expected:
            return count
        await asyncio.sleep(0.1)
    return count


async def scrape(stack: LocalStack) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{stack.api_url}/metrics")
    assert response.status_code == 200
    return response.text


async def drive_hello(stack: LocalStack, count: int, first: int = 0) -> None:
    """`count` requests through nginx; distinct query strings, so nginx's micro-cache (which
    would answer repeats itself) passes every one to the API."""
    gate = asyncio.Semaphore(64)
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10, limits=limits) as client:

        async def one(i: int) -> None:
            async with gate:
                response = await client.get("/v1/hello", params={"n": f"{first + i}"})
                assert response.status_code == 200
                assert response.headers["x-cache-status"] != "HIT"

        await asyncio.gather(*(one(i) for i in range(count)))


async def test_one_scrape_counts_the_requests_of_both_workers_and_survives_a_killed_one(
    stack: LocalStack, metrics_dir: Path, tmp_path: Path
) -> None:
    workers = await asyncio.to_thread(stack.wait_for_workers, 2)
    sent = 0
    # Batches until both workers have answered some (the kernel picks which worker accepts).
    for _ in range(MAX_BATCHES):
        await drive_hello(stack, BATCH, first=sent)
        sent += BATCH
        assert await hello_count_settled(stack, sent) == sent
        per_worker = {pid: worker_hello_count(metrics_dir, pid, tmp_path / "w") for pid in workers}
        if all(per_worker.values()):
            break
    assert all(per_worker.values()), per_worker
    assert sum(per_worker.values()) == sent

    killed = workers[0]
    os.kill(killed, signal.SIGKILL)
    await asyncio.to_thread(stack.wait_for_workers, 2, without=killed)
    assert hello_count(await scrape(stack)) == sent


async def test_route_label_is_the_template_not_the_path(stack: LocalStack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as client:
        await client.get("/v1/users/search", params={"q": "x"})
        await client.get("/no/such/path/12345")
    # The worker that answered may be another than the one answering the scrape: its counts
    # reach the files within about a second (the sample interval).
    for _ in range(50):
        routes = {
            sample.labels["route"]
            for family in text_string_to_metric_families(await scrape(stack))
            for sample in family.samples
            if sample.name == "http_requests_total"
        }
        if {"/v1/users/search", "<unmatched>"} <= routes:
            break
        await asyncio.sleep(0.1)
    assert "/v1/users/search" in routes
    assert "<unmatched>" in routes
    assert not any("12345" in route for route in routes)


async def test_public_nginx_answers_404_for_metrics(http: httpx.AsyncClient) -> None:
    """Local stack or the compose stack of `make docker-smoke`."""
    response = await http.get("/metrics")
    stub = await http.get("/stub_status")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert "http_requests_total" not in response.text
    assert stub.status_code == 404


async def test_nginx_counters_are_on_the_internal_status_port(stack: LocalStack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"http://127.0.0.1:{stack.status_port}/stub_status")
    assert response.status_code == 200
    assert "Active connections" in response.text


# Inside the compose network (make docker-smoke): the API serves /metrics on its own port and
# nginx its counters on 8081; compose.prod.yaml publishes neither.
PROBE = (
    "import sys, urllib.request;"
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())"
)


def test_compose_api_serves_metrics_inside_its_network() -> None:
    text = compose_exec("api", "python", "-c", PROBE, "http://127.0.0.1:8000/metrics")
    assert "http_requests_total" in text
    assert "app_build_info" in text


def test_compose_nginx_counters_are_on_the_internal_port() -> None:
    text = compose_exec("nginx", "curl", "-fsS", "http://127.0.0.1:8081/stub_status")
    assert "Active connections" in text
