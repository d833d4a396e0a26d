"""The HTTP metrics add a second's observations at once through prometheus-client's private
per-bucket values and sum (app/observability/http_metrics.py). These tests fail when a
prometheus-client release changes them, or offers the public call that makes them unneeded."""

from __future__ import annotations

import inspect

from prometheus_client import CollectorRegistry, Histogram

from app.observability.http_metrics import PendingHttpMetrics
from app.observability.metrics import HTTP_DURATION, LATENCY_BUCKETS


def test_prometheus_client_still_has_no_public_way_to_add_many_observations() -> None:
    histogram = Histogram("probe_seconds", "probe", ["route"], registry=CollectorRegistry())
    child = histogram.labels("/probe")
    public = {name for name in dir(child) if not name.startswith("_")}
    known = {"DEFAULT_BUCKETS", "clear", "collect", "describe", "labels", "observe", "remove"}
    known |= {"remove_by_labels", "time"}
    assert public == known, "prometheus-client changed: is there a bulk call to use in flush?"
    assert list(inspect.signature(child.observe).parameters) == ["amount", "exemplar"]


def test_the_private_buckets_and_sum_are_what_a_flush_writes() -> None:
    child = HTTP_DURATION.labels("GET", "/private-probe")
    assert len(child._buckets) == len(LATENCY_BUCKETS) + 1  # the last is +Inf
    before = [bucket.get() for bucket in child._buckets]
    pending = PendingHttpMetrics()
    pending.record("GET", "/private-probe", 200, 0.003)
    pending.record("GET", "/private-probe", 200, 20.0)
    pending.flush()
    after = [bucket.get() for bucket in child._buckets]
    added = [b - a for a, b in zip(before, after, strict=True)]
    assert added[0] == 1  # 3 ms: the first bucket (5 ms)
    assert added[-1] == 1  # 20 s: +Inf
    assert sum(added) == 2
