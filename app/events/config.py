"""The relay's knobs. Broker, stream name and poll interval come from Settings; the rest are
defaults that fit the template's load, overridable per instance (tests shorten the waits)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.core.settings import Settings
from app.events.brokers import NATS_DUPLICATE_WINDOW_SECONDS

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
    broker: str = "redis"
    broker_url: str = field(default="", repr=False)  # may carry the broker's password
    # A batch not confirmed by the broker within this fails, and is sent again.
    publish_timeout_seconds: float = 10.0
    kafka_partitions: int = 6
    kafka_idempotence: bool = True
    nats_duplicate_window_seconds: float = NATS_DUPLICATE_WINDOW_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RelayConfig:
        config = cls(
            dsn=settings.relay_database_url,
            stream=settings.events_stream,
            stream_maxlen=settings.events_stream_maxlen,
            poll_interval_seconds=settings.outbox_poll_interval_seconds,
            application_name=f"{settings.db_application_name}-outbox-relay",
            connect_timeout_seconds=settings.db_connect_timeout,
            broker=settings.events_broker,
            broker_url=settings.broker_url,
            kafka_partitions=settings.events_kafka_partitions,
            kafka_idempotence=settings.events_kafka_idempotence,
        )
        return replace(config, **overrides)
