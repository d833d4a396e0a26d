"""The relay's knobs. Stream name and poll interval come from Settings; the rest are defaults
that fit the template's load, overridable per instance (tests shorten the waits)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.core.settings import Settings

DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class RelayConfig:
    dsn: str = field(repr=False)  # carries the database password
    stream: str
    poll_interval_seconds: float
    application_name: str = "outbox-relay"
    connect_timeout_seconds: float = 5.0
    batch_size: int = 100
    # XADD MAXLEN ~: consumers that fall further behind than this lose the oldest entries.
    stream_maxlen: int = 100_000
    # Must outlive the longest relay outage: a row unstamped for longer could be re-sent.
    marker_ttl_seconds: int = 7 * DAY_SECONDS
    lock_retry_seconds: float = 5.0
    backoff_first_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    prune_after_seconds: int = DAY_SECONDS
    prune_every_seconds: float = 600.0
    prune_batch: int = 1_000

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RelayConfig:
        config = cls(
            dsn=settings.relay_database_url,
            stream=settings.events_stream,
            stream_maxlen=settings.events_stream_maxlen,
            poll_interval_seconds=settings.outbox_poll_interval_seconds,
            application_name=f"{settings.db_application_name}-outbox-relay",
            connect_timeout_seconds=settings.db_connect_timeout,
        )
        return replace(config, **overrides)
