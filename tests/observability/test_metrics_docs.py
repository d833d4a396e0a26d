"""docs/observability.md's table lists every metric of app/observability/metrics.py, by the
name Prometheus shows (a counter with `_total`), with each of its labels in the same row."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from app.observability import metrics

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def _exposed(metric: MetricWrapperBase) -> str:
    name: str = metric._name
    return f"{name}_total" if metric._type == "counter" else name


METRICS = sorted(
    (value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)),
    key=_exposed,
)


@pytest.mark.parametrize("metric", METRICS, ids=_exposed)
def test_every_metric_is_in_the_table_with_its_labels(metric: MetricWrapperBase) -> None:
    name = _exposed(metric)
    rows = [line for line in DOC.read_text().splitlines() if f"`{name}`" in line]
    assert rows, f"{name} is not in {DOC.name}'s table of metrics"
    row = rows[0]
    missing = [label for label in metric._labelnames if f"`{label}`" not in row]
    assert not missing, f"{name}: labels {missing} not named in its row of {DOC.name}"
