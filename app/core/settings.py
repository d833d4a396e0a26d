"""The one place that reads the environment.

`ENV_FILE` chooses the dotenv file (default `.env`); real environment variables override it.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgresql://app_user@127.0.0.1:5432/app"
PLACEHOLDER_MARKERS = ("change-me", "change_me", "changeme", "placeholder")


# Secrets the repository publishes (the defaults below, .env, .env.local, compose.yaml, the
# Kubernetes dev example, the CI and deployment checks): public, so production refuses a secret
# that contains one, like a placeholder. tests/core/test_production_secrets.py reads the
# committed files and fails when one of their secrets is missing here.
DEVELOPMENT_SECRETS = (
    "dev-gateway-secret",  # part:gateway
    "local-gateway-secret",  # part:gateway
    "dev-app-password",
    "local-app-password",
    "dev-postgres-password",
    "dev-rabbitmq-password",
    "demo-password",
    "check-only",
    "pull-only",
)
# >>> part:gateway
# GATEWAY_SECRET in production (nginx's proof to /auth/verify): at least 128 random bits as hex;
# `openssl rand -hex 32` gives 64 characters.
GATEWAY_SECRET_MIN_LENGTH = 32
# <<< part:gateway


# >>> part:events
# A broker's address when EVENTS_BROKER_URL is empty: the local servers of make local / make test.
DEFAULT_BROKER_URLS = {
    "redis": "",  # the stream lives in REDIS_URL's Redis
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "kafka": "127.0.0.1:9092",
    "nats": "nats://127.0.0.1:4222",
}
# <<< part:events


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


# Names no mail reader can reach (RFC 2606, RFC 6761): a PUBLIC_BASE_URL or MAIL_FROM on one of
# them is a placeholder or a development value, so production refuses it.
RESERVED_HOSTS = ("localhost", "example.com", "example.net", "example.org")
RESERVED_SUFFIXES = (".localhost", ".example", ".invalid", ".test")


def _is_reserved_host(host: str) -> bool:
    return any(host == name or host.endswith(f".{name}") for name in RESERVED_HOSTS) or (
        host.endswith(RESERVED_SUFFIXES)
    )


def _public_base_url_problem(url: str) -> str | None:
    """Why PUBLIC_BASE_URL cannot be the base of links mailed to people, or None when it can:
    production needs https and a host the reader's browser reaches (not this machine's)."""
    try:
        parsed = urlsplit(url)
        host = (parsed.hostname or "").rstrip(".").lower()
        parsed.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        return "is not a URL"
    if parsed.scheme != "https":
        return "must start with https:// (the links in mails carry one-time tokens)"
    if not host:
        return "names no host"
    if parsed.query or parsed.fragment:
        return "must have no query or fragment (the links add a path and a #token)"
    if _is_reserved_host(host):
        return f"names a local or reserved host ({host})"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified or address.is_link_local:
        return f"names a local address ({host})"
    return None


def _is_development_default(name: str, value: str) -> bool:
    default = Settings.model_fields[name].default
    if isinstance(default, SecretStr) and value == default.get_secret_value():
        return True
    return any(known in value for known in DEVELOPMENT_SECRETS)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    # A JSON line for every request. Off by default: nginx already logs each request with its
    # id and upstream time, and the line is costly (docs/benchmark.md). Server errors (5xx) and
    # slow requests are logged whatever this says.
    access_log: bool = False
    # Requests slower than this get an access line even with ACCESS_LOG off; 0 never.
    access_log_slow_ms: float = Field(default=500.0, ge=0)
    docs_enabled: bool | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    http_port: int = Field(default=8080, ge=1, le=65535)

    # The least-privilege role even by default; the schema owner is for migrations only.
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_connect_timeout: float = Field(default=2.0, gt=0)
    # Under nginx's read timeout; waiters are not served in order, so a short wait sheds
    # requests that would have been served (docs/benchmark.md).
    db_acquire_timeout: float = Field(default=3.0, gt=0)
    db_command_timeout: float = Field(default=1.5, gt=0)
    db_statement_timeout_ms: int = Field(default=1500, ge=0)
    db_application_name: str = "fastapi-template"

    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    # Per worker, and at least the requests a worker may hold at once (every authenticated
    # request takes one connection briefly; docs/benchmark.md). Connections open only when needed.
    redis_max_connections: int = Field(default=512, ge=1)
    redis_pool_timeout: float = Field(default=1.0, gt=0)
    redis_socket_timeout: float = Field(default=1.0, gt=0)
    redis_connect_timeout: float = Field(default=1.0, gt=0)
    redis_health_check_interval: int = Field(default=30, ge=0)

    session_ttl_seconds: int = Field(default=3600, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=300, ge=1)

    # OWASP password-storage cheat sheet: argon2id, m=19 MiB, t=2, p=1.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=1024)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Hashes running at once per worker; each holds argon2_memory_kib. One per worker keeps the
    # CPUs busy (one worker per CPU) and reuses one warm block (docs/benchmark.md).
    argon2_max_concurrent: int = Field(default=1, ge=1)

    # --- Overload: shed instead of queueing (docs/benchmark.md, "Overload") ---
    # A login that would wait longer than this for the password hasher is answered 503 with
    # Retry-After at once (per worker: hashes queued x the recent time of one hash).
    login_max_queue_seconds: float = Field(default=2.0, gt=0)
    # Requests one worker handles at once; beyond it a JSON 503 with Retry-After at once
    # (app/http/in_flight.py); a closed loop of this many connections is never shed. 0: no bound.
    max_requests_in_flight: int = Field(default=256, ge=0)

    gateway_secret: SecretStr = SecretStr("dev-gateway-secret")  # part:gateway
    # >>> part:events
    # One stream per service: other services subscribe to this one by name.
    events_stream: str = "events:fastapi-template"
    # XADD MAXLEN ~: a consumer further behind than this loses the oldest entries.
    events_stream_maxlen: int = Field(default=100_000, ge=1)
    outbox_relay_enabled: bool = True
    outbox_poll_interval_seconds: float = Field(default=1.0, gt=0)
    # Where the relay publishes (docs/architecture.md, "Brokers"): the Redis Stream
    # EVENTS_STREAM on REDIS_URL, or RabbitMQ, Kafka or NATS JetStream at EVENTS_BROKER_URL.
    events_broker: Literal["redis", "rabbitmq", "kafka", "nats"] = "redis"
    # Empty: the broker's local default (DEFAULT_BROKER_URLS); unused for redis.
    events_broker_url: SecretStr = SecretStr("")
    # Kafka's idempotent producer (acks=all either way); off only for brokers without it.
    events_kafka_idempotence: bool = True
    # Partitions of the Kafka topic when the relay creates it (per-user order holds in each).
    events_kafka_partitions: int = Field(default=6, ge=1)
    # How long a consumer remembers a handled event id (its deduplication window).
    events_processed_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    # A handler that fails this many times in a row sends the event to the dead letters.
    events_max_attempts: int = Field(default=5, ge=1)
    # RabbitMQ prefetch / NATS fetch size: events a consumer holds at once, different users'
    # handled side by side, one user's in order (app/events/lanes.py).
    events_consumer_prefetch: int = Field(default=64, ge=1)
    # <<< part:events

    # User search (docs/api.md): the work one query may do, and how often one account may ask.
    search_statement_timeout_ms: int = Field(default=250, ge=1)
    search_max_per_window: int = Field(default=20, ge=1)
    search_window_seconds: int = Field(default=10, ge=1)

    seed_demo_user: bool = False
    demo_username: str = "demo"
    demo_password: SecretStr = SecretStr("demo-password")

    # --- security hardening (docs/security.md) ---
    # Absolute session lifetime (OWASP ASVS V3.3): renewal never extends a session past it.
    session_max_lifetime_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    # Total time to read a request body (nginx streams bodies to the app): then 408.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)

    # Observability (docs/observability.md) --------------------------------------------------
    # Prometheus metrics at GET /metrics and the HTTP metrics middleware; false removes both.
    metrics_enabled: bool = True
    # How often each worker writes its HTTP counts and samples the pool and process gauges.
    metrics_sample_interval_seconds: float = Field(default=1.0, gt=0)
    # Error reports to Sentry (or a compatible service); empty = off.
    sentry_dsn: SecretStr | None = None
    # OpenTelemetry tracing, by the standard OTEL_* variables. Off unless an OTLP endpoint or a
    # traces exporter is named; OTEL_SDK_DISABLED=true switches it off regardless.
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_traces_exporter: Literal["otlp", "console", "none"] | None = None
    otel_sdk_disabled: bool = False
    otel_service_name: str = "fastapi-template"
    otel_traces_sampler: Literal[
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
    ] = "parentbased_always_on"
    otel_traces_sampler_arg: float = Field(default=1.0, ge=0, le=1)

    # Accounts people run themselves (docs/configuration.md, "Accounts") -----------------------
    # The service's name as people read it: mail subjects and bodies.
    service_name: str = "FastAPI service template"
    signup_enabled: bool = True
    # true: an account with an unverified email cannot log in (403 until verified).
    email_verification_required: bool = False
    # OWASP ASVS V2.1.1: 12 by default; 8 is the least ASVS allows at all.
    password_min_length: int = Field(default=12, ge=8, le=128)
    # Links in mails: a page there reads the token from the fragment and posts it to the API.
    public_base_url: str = "http://localhost:8080"
    # Send queued mail from each worker's lifespan (off: run `python -m app.cli send-mail`).
    mail_sender_enabled: bool = True
    mail_from: str = "no-reply@localhost"
    mail_poll_interval_seconds: float = Field(default=5.0, gt=0)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict):
            raw = data.get("cors_origins")
            if isinstance(raw, str):
                data["cors_origins"] = [o.strip() for o in raw.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        return self

    # >>> part:gateway
    @model_validator(mode="after")
    def _gateway_secret_not_empty(self) -> Self:
        # An empty secret would match a caller's empty `X-Gateway-Secret:` header.
        if not self.gateway_secret.get_secret_value():
            raise ValueError("GATEWAY_SECRET must not be empty")
        return self

    # <<< part:gateway

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Self:
        if self.environment != "production":
            return self
        secrets = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "GATEWAY_SECRET": self.gateway_secret,  # part:gateway
        }
        if self.database_direct_url.get_secret_value():  # optional: set behind PgBouncer only
            secrets["DATABASE_DIRECT_URL"] = self.database_direct_url
        # >>> part:events
        if self.events_broker_url.get_secret_value():  # optional: the broker's credentials
            secrets["EVENTS_BROKER_URL"] = self.events_broker_url
        # <<< part:events
        if self.smtp_username:  # SMTP authentication is configured: its password is a secret
            if not self.smtp_password.get_secret_value():
                raise ValueError("SMTP_USERNAME is set but SMTP_PASSWORD is empty in production")
            secrets["SMTP_PASSWORD"] = self.smtp_password
        # Not secrets, but a placeholder left in them sends mail nowhere or links to nowhere.
        mail = {
            "SMTP_HOST": self.smtp_host,
            "SMTP_USERNAME": self.smtp_username,
            "MAIL_FROM": self.mail_from,
            "PUBLIC_BASE_URL": self.public_base_url,
        }
        bad = [name for name, value in secrets.items() if _is_placeholder(value.get_secret_value())]
        bad += [name for name, value in mail.items() if _is_placeholder(value)]
        if bad:
            raise ValueError(
                f"placeholder value(s) in production: {', '.join(bad)}; set real values"
            )
        known = [
            name
            for name, value in secrets.items()
            if _is_development_default(name.lower(), value.get_secret_value())
        ]
        if known:
            raise ValueError(
                f"development secret(s) in production: {', '.join(known)}; set real values"
            )
        # >>> part:gateway
        if len(self.gateway_secret.get_secret_value()) < GATEWAY_SECRET_MIN_LENGTH:
            raise ValueError(
                f"GATEWAY_SECRET must have at least {GATEWAY_SECRET_MIN_LENGTH} characters in "
                "production (e.g. `openssl rand -hex 32`)"
            )
        # <<< part:gateway
        if self.seed_demo_user:
            raise ValueError("SEED_DEMO_USER must be false in production")
        # >>> part:events
        if self.events_broker != "redis" and not self.events_broker_url.get_secret_value():
            raise ValueError(
                f"EVENTS_BROKER={self.events_broker} needs EVENTS_BROKER_URL in production"
            )
        # <<< part:events
        return self._refuse_development_mail_settings()

    def _refuse_development_mail_settings(self) -> Self:
        """Production mail: links people can open, a sender address other servers accept, and
        SMTP credentials never sent over an unencrypted connection."""
        problem = _public_base_url_problem(self.public_base_url)
        if problem:
            raise ValueError(f"PUBLIC_BASE_URL {problem} in production")
        domain = self.mail_from.rpartition("@")[2].rstrip(">").strip().lower()
        if not domain or _is_reserved_host(domain):
            raise ValueError(
                f"MAIL_FROM must be an address of your own domain in production, not "
                f"{self.mail_from!r}"
            )
        if self.smtp_username and self.smtp_security == "none":
            raise ValueError(
                "SMTP_USERNAME is set with SMTP_SECURITY=none: production sends SMTP "
                "credentials over TLS only (starttls or tls)"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def tracing_enabled(self) -> bool:
        named = self.otel_exporter_otlp_endpoint or self.otel_exporter_otlp_traces_endpoint
        return not self.otel_sdk_disabled and bool(named or self.otel_traces_exporter)

    @property
    def show_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    # --- Scaling beyond one machine (docs/scaling.md) ---
    # REDIS_URL is then one seed node of a Redis Cluster; the client learns the rest.
    redis_cluster: bool = False
    # DATABASE_URL points at PgBouncer in transaction mode: no prepared-statement cache, and
    # the outbox relay (LISTEN, advisory lock) connects to PostgreSQL itself.
    db_pgbouncer: bool = False
    # The relay's direct PostgreSQL URL; empty means DATABASE_URL (right without PgBouncer).
    database_direct_url: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _pgbouncer_needs_a_direct_url(self) -> Self:
        if self.db_pgbouncer and not self.database_direct_url.get_secret_value():
            raise ValueError(
                "DB_PGBOUNCER=true needs DATABASE_DIRECT_URL: the outbox relay's LISTEN and "
                "advisory lock do not work through a transaction pooler"
            )
        return self

    # >>> part:events
    @property
    def broker_url(self) -> str:
        """EVENTS_BROKER_URL, or the chosen broker's default on this machine."""
        return self.events_broker_url.get_secret_value() or DEFAULT_BROKER_URLS[self.events_broker]

    # <<< part:events

    @property
    def relay_database_url(self) -> str:
        """Where the outbox relay connects: PostgreSQL itself, never a transaction pooler."""
        direct = self.database_direct_url.get_secret_value()
        return direct or self.database_url.get_secret_value()


def resolve_env_file(name: str | None) -> Path | None:
    """`ENV_FILE` relative paths are taken from the project root, so any cwd works."""
    if name == "":
        return None
    path = Path(name or ".env")
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_settings() -> Settings:
    env_file = resolve_env_file(os.environ.get("ENV_FILE"))
    return Settings(_env_file=env_file)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
