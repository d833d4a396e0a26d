"""What the stack's own logs say about a run: nginx access lines (every request a client sent,
with status and time) and whether any secret reached any log line."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AccessSummary:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    max_seconds: float = 0.0
    slowest: str = ""

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


def access_summary(nginx_log: Path) -> AccessSummary:
    summary = AccessSummary()
    for line in nginx_log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # nginx's own error lines
        if not isinstance(entry, dict) or entry.get("logger") != "nginx.access":
            continue
        summary.requests += 1
        summary.statuses[int(entry["status"])] += 1
        seconds = float(entry["request_time"])
        if seconds > summary.max_seconds:
            summary.max_seconds = seconds
            summary.slowest = f"{entry['method']} {entry['uri']} -> {entry['status']}"
    return summary


def leaked(secrets: Iterable[str], logs: Iterable[Path]) -> list[str]:
    """The secrets (tokens, passwords) found in any of the log files; must be empty."""
    text = "\n".join(path.read_text(errors="replace") for path in logs if path.exists())
    return [secret for secret in secrets if secret and secret in text]


@dataclass
class AppSummary:
    """The app's own access lines for one path: what it answered and how long it took inside,
    from the moment the worker started on the request (queuing before that is not included)."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    max_ms: float = 0.0


def app_summary(gunicorn_log: Path, path: str) -> AppSummary:
    summary = AppSummary()
    for line in gunicorn_log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("logger") != "app.access":
            continue
        if entry.get("path") != path:
            continue
        summary.requests += 1
        summary.statuses[int(entry["status"])] += 1
        summary.max_ms = max(summary.max_ms, float(entry["duration_ms"]))
    return summary
