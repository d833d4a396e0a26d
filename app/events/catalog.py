"""Every event type this service emits, with its payload's schema per version: the source of
docs/events.asyncapi.yaml (`make asyncapi`; a test fails when the two disagree, and another
when SQL writes an outbox row of a type missing here).

Adding a type or a version: a model below and an `EventType` in EVENT_TYPES, then
`make asyncapi`. Within a version, payloads only gain fields (docs/architecture.md,
"Versioning rules").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


class UserNameChangedV1(BaseModel):
    """user.name_changed v1: `POST /setName` changed the name (the same name emits nothing)."""

    model_config = ConfigDict(extra="allow")  # consumers ignore fields they don't know

    user_id: int
    old_name: str
    new_name: str


class UserLoggedInV1(BaseModel):
    """user.logged_in v1: `POST /login` succeeded."""

    model_config = ConfigDict(extra="allow")

    user_id: int
    username: str


class AccountCreatedV1(BaseModel):
    """account.created v1: someone signed up (`POST /v1/accounts`); no address in it."""

    model_config = ConfigDict(extra="allow")

    user_id: int
    username: str


class AccountDeletedV1(BaseModel):
    """account.deleted v1: the account's row is gone, by the API, the CLI or plain SQL (a
    trigger writes it); services holding copies of the user erase them."""

    model_config = ConfigDict(extra="allow")

    user_id: int
    username: str


@dataclass(frozen=True, slots=True)
class EventType:
    name: str  # <aggregate>.<past-tense verb>
    version: int
    payload: type[BaseModel]
    summary: str

    @property
    def key(self) -> str:
        """`user.name_changed.v1`: unique per type and version."""
        return f"{self.name}.v{self.version}"


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "user.name_changed", 1, UserNameChangedV1, "A user's display name changed (/setName)."
    ),
    EventType("user.logged_in", 1, UserLoggedInV1, "A user logged in (/login)."),
    EventType("account.created", 1, AccountCreatedV1, "An account signed up (POST /v1/accounts)."),
    EventType("account.deleted", 1, AccountDeletedV1, "An account was deleted, by any means."),
)

ENVELOPE_DOC = (
    "The envelope every event carries. event_id is unique per event: consumers deduplicate on "
    "it. occurred_at is ISO 8601 in UTC, when the change's transaction started. aggregate_id "
    "is the user id. traceparent (W3C) is present only when the writing request was traced."
)


def _camel(event: EventType) -> str:
    return "".join(part.title() for part in event.name.replace(".", "_").split("_")) + (
        f"V{event.version}"
    )


def message_model(event: EventType) -> type[BaseModel]:
    """The message body on RabbitMQ, Kafka and NATS (`Envelope.to_body`) for this type."""
    fields: dict[str, Any] = {
        "event_id": (str, Field(description="UUID, unique per event")),
        "event_type": (Literal[event.name], ...),
        "schema_version": (Literal[event.version], ...),
        "occurred_at": (datetime, ...),
        "aggregate_id": (int, ...),
        "payload": (event.payload, ...),
        "traceparent": (str | None, None),
    }
    return create_model(f"{_camel(event)}Event", __doc__=ENVELOPE_DOC, **fields)


def stream_entry_model(event: EventType) -> type[BaseModel]:
    """The Redis Stream entry (`Envelope.to_fields`): the same fields, every value a string,
    `payload` the payload's JSON text."""
    fields: dict[str, Any] = {
        "event_id": (str, ...),
        "event_type": (Literal[event.name], ...),
        "schema_version": (Literal[str(event.version)], ...),
        "occurred_at": (str, ...),
        "aggregate_id": (str, Field(pattern=r"^-?[0-9]+$")),
        "payload": (str, Field(description=f"JSON text of {event.payload.__name__}")),
        "traceparent": (str | None, None),
    }
    return create_model(f"{_camel(event)}StreamEntry", __doc__=ENVELOPE_DOC, **fields)


def event_type(name: str, version: int) -> EventType | None:
    return next((e for e in EVENT_TYPES if e.name == name and e.version == version), None)
