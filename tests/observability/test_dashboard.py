"""The Grafana dashboard and the alerting rules in deploy/ query only metrics that the service
exports: every metric name in every query is in a scrape of GET /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
# Queries name metrics with a selector (`name{...}`): the name is what precedes `{`.
METRIC_IN_QUERY = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")
RECORDED = re.compile(r"^\s*- record:\s*(\S+)", re.MULTILINE)


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return queries + [a["expr"] for a in dashboard["annotations"]["list"]]


def alert_queries() -> list[str]:
    return re.findall(r"^\s*expr:\s*(.+)$", ALERTS.read_text(), re.MULTILINE)


async def exported_names(client: httpx.AsyncClient) -> set[str]:
    await client.get("/v1/hello")  # so labelled series exist
    text = (await client.get("/metrics")).text
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


async def test_every_dashboard_query_names_an_exported_metric(client: httpx.AsyncClient) -> None:
    exported = await exported_names(client)
    queries = dashboard_queries()
    assert len(queries) >= 10
    for query in queries:
        names = METRIC_IN_QUERY.findall(query)
        assert names, f"no metric selector in {query!r}"
        assert set(names) <= exported, (query, set(names) - exported)


async def test_every_alert_rule_names_an_exported_or_recorded_metric(
    client: httpx.AsyncClient,
) -> None:
    known = await exported_names(client) | set(RECORDED.findall(ALERTS.read_text()))
    for query in alert_queries():
        names = METRIC_IN_QUERY.findall(query) + re.findall(r"slo:[a-z_:0-9]+", query)
        assert names, f"no metric in {query!r}"
        assert set(names) <= known, (query, set(names) - known)


def test_dashboard_covers_red_pools_and_outbox() -> None:
    queries = " ".join(dashboard_queries())
    for metric in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "db_pool_connections_in_use",
        "redis_pool_connections_in_use",
        "outbox_backlog",  # part:events
    ):
        assert metric in queries
