"""GET /metrics on the API's own port, for Prometheus. nginx's public server answers 404 for
it: only the internal network (a Prometheus container scraping `api:8000`) reaches it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.values import MutexValue, ValueClass
from starlette.concurrency import run_in_threadpool

from app.observability.http_metrics import PENDING

router = APIRouter(include_in_schema=False)

# prometheus-client chose its value class when first imported: memory-mapped files when
# PROMETHEUS_MULTIPROC_DIR was set (gunicorn.py.ini sets it), plain values otherwise.
MULTIPROCESS = ValueClass is not MutexValue


def _registry() -> CollectorRegistry:
    if not MULTIPROCESS:
        return REGISTRY
    # Every scrape reads the files of all workers, live and exited, and sums them.
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


@router.get("/metrics")
async def metrics() -> Response:
    PENDING.flush()  # this worker's last second; the others flush on their own within one
    # Reading every worker's files happens in a thread: the event loop keeps serving.
    body = await run_in_threadpool(generate_latest, _registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
