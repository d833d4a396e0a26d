"""Every metric the service exports, defined once. docs/observability.md says what each means
and what to do when it moves.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by gunicorn.py.ini) puts prometheus-client in
multiprocess mode: each worker writes its values to memory-mapped files there and a scrape of
any worker sums them all. Gauges say how their workers' values combine (`multiprocess_mode`);
`live*` modes drop the values of workers that exited.
"""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import Counter, Gauge, Histogram

# Seconds; request latency objectives sit between 0.05 and 1 s (docs/observability.md).
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# HTTP (RED) --------------------------------------------------------------------------------
HTTP_REQUESTS = Counter("http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from request received to response sent",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "http_requests_in_progress",
    "HTTP requests being handled (sampled about once a second per worker)",
    multiprocess_mode="livesum",
)

# PostgreSQL pool ---------------------------------------------------------------------------
DB_POOL_SIZE = Gauge(
    "db_pool_connections", "Open connections of the pool", multiprocess_mode="livesum"
)
DB_POOL_MAX = Gauge(
    "db_pool_max_connections", "Configured maximum of the pool", multiprocess_mode="livesum"
)
DB_POOL_IN_USE = Gauge(
    "db_pool_connections_in_use", "Connections lent to requests", multiprocess_mode="livesum"
)
DB_POOL_WAITERS = Gauge(
    "db_pool_waiters", "Requests waiting for a connection", multiprocess_mode="livesum"
)
DB_POOL_ACQUIRE_WAIT = Histogram(
    "db_pool_acquire_wait_seconds", "Time to get a connection from the pool", buckets=WAIT_BUCKETS
)
DB_POOL_ACQUIRE_TIMEOUTS = Counter(
    "db_pool_acquire_timeouts", "Waits for a connection that timed out (answered 503)"
)

# Redis pool --------------------------------------------------------------------------------
REDIS_POOL_IN_USE = Gauge(
    "redis_pool_connections_in_use", "Redis connections lent out", multiprocess_mode="livesum"
)
REDIS_POOL_MAX = Gauge(
    "redis_pool_max_connections", "Configured maximum of the pool", multiprocess_mode="livesum"
)
REDIS_POOL_WAITS = Counter(
    "redis_pool_waits", "Times a command found every Redis connection taken and waited"
)

# Login and password hashing ----------------------------------------------------------------
LoginOutcome = Literal["success", "invalid", "throttled", "shed"]
LOGIN_OUTCOMES: Final[tuple[LoginOutcome, ...]] = ("success", "invalid", "throttled", "shed")
LOGINS = Counter("login_attempts", "Login attempts by outcome", ["outcome"])
HASH_QUEUE = Gauge(
    "password_hash_queue_depth",
    "Password hashes waiting for a hashing slot",
    multiprocess_mode="livesum",
)
HASH_WAIT = Histogram(
    "password_hash_wait_seconds", "Time a hash waited for a slot", buckets=WAIT_BUCKETS
)
HASH_DURATION = Histogram(
    "password_hash_duration_seconds",
    "Time to compute one argon2id hash or verification",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

# Outbox and sessions -----------------------------------------------------------------------
# >>> part:events
# Set by the active relay only, about once a second: the most recent value of any live worker
# is the current leader's (a former leader's last value is older).
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog", "Outbox events not yet published", multiprocess_mode="livemostrecent"
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox event (0 when none)",
    multiprocess_mode="livemostrecent",
)
OUTBOX_PUBLISHED = Counter("outbox_events_published", "Outbox events published to the stream")
# Domain events on each broker (EVENTS_BROKER: redis, rabbitmq, kafka, nats) --------------------
EVENTS_PUBLISH_DURATION = Histogram(
    "events_publish_duration_seconds",
    "Time for the broker to confirm one relay batch (up to 100 events)",
    ["broker"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
# Consumers (python -m app.cli consume-events, app/events/consumer.py) by broker and group.
EVENTS_CONSUMED = Counter(
    "events_consumed",
    "Events a consumer finished with, by outcome (handled, duplicate, dead_lettered, malformed)",
    ["broker", "group", "outcome"],
)
EVENTS_HANDLER_RETRIES = Counter(
    "events_handler_retries", "Handler attempts that failed and were retried", ["broker", "group"]
)
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered",
    "Events moved to the dead-letter destination after the last failed attempt",
    ["broker", "group"],
)
EVENTS_CONSUMER_LAG = Gauge(
    "events_consumer_lag_seconds",
    "Time from the change (occurred_at) to its handling, of the last event a consumer handled",
    ["broker", "group"],
    multiprocess_mode="livemostrecent",
)
# <<< part:events
SESSIONS_CREATED = Counter("sessions_created", "Sessions created (logins)")
SESSIONS_REVOKED = Counter("sessions_revoked", "Sessions revoked (logout, logout-all)")

# Build -------------------------------------------------------------------------------------
BUILD_INFO = Gauge(
    "app_build_info",
    "Always 1; the labels name the running build",
    ["app_version"],
    multiprocess_mode="max",
)

for _outcome in LOGIN_OUTCOMES:  # every outcome is exported from the start, at 0
    LOGINS.labels(_outcome)


def record_login(outcome: LoginOutcome) -> None:
    LOGINS.labels(outcome).inc()
