"""The versioned envelope every event carries; consumers depend on this and nothing else.

On a Redis Stream it is the entry's fields, all strings (`to_fields`), `payload` being JSON
text. On RabbitMQ, Kafka and NATS it is the message body, one JSON object whose `payload` is
an object (`to_body`), and the headers repeat the fields a consumer routes or filters on
(`headers`). The payload's shape is fixed by (event_type, schema_version): within a version,
fields are only ever added (app/events/catalog.py lists them; docs/events.asyncapi.yaml).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

ENVELOPE_FIELDS = (
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "aggregate_id",
    "payload",
)


class MalformedEvent(ValueError):
    """A stream entry that lacks envelope fields (written by something other than the relay)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    aggregate_id: int
    payload: str
    # W3C trace context of the request that caused the event (absent unless tracing was on):
    # a consumer passes it to OpenTelemetry's propagator to continue the trace.
    traceparent: str | None = None

    def to_fields(self) -> dict[str, str]:
        fields = {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "schema_version": str(self.schema_version),
            # ISO 8601 in UTC, so every consumer parses it the same way.
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "aggregate_id": str(self.aggregate_id),
            "payload": self.payload,
        }
        if self.traceparent is not None:
            fields["traceparent"] = self.traceparent
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Envelope:
        missing = [name for name in ENVELOPE_FIELDS if name not in fields]
        if missing:
            raise MalformedEvent(f"missing envelope fields: {', '.join(missing)}")
        try:
            return cls(
                event_id=fields["event_id"],
                event_type=fields["event_type"],
                schema_version=int(fields["schema_version"]),
                occurred_at=datetime.fromisoformat(fields["occurred_at"]),
                aggregate_id=int(fields["aggregate_id"]),
                payload=fields["payload"],
                traceparent=fields.get("traceparent"),
            )
        except ValueError as exc:
            raise MalformedEvent(str(exc)) from None

    @property
    def aggregate_type(self) -> str:
        """`user` for `user.name_changed`: the part before the first dot."""
        return self.event_type.partition(".")[0]

    def headers(self) -> dict[str, str]:
        """What brokers carry as message headers: enough to route, filter and deduplicate
        without parsing the body (`traceparent` under its W3C name, for propagators)."""
        fields = self.to_fields()
        del fields["payload"], fields["occurred_at"]
        return fields

    def to_body(self) -> bytes:
        """The message body on RabbitMQ, Kafka and NATS: the envelope as one JSON object."""
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "occurred_at": self.to_fields()["occurred_at"],
            "aggregate_id": self.aggregate_id,
            "payload": self.data(),
        }
        if self.traceparent is not None:
            body["traceparent"] = self.traceparent
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_body(cls, body: bytes) -> Envelope:
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise MalformedEvent(f"body is not JSON: {exc}") from None
        if not isinstance(decoded, dict):
            raise MalformedEvent("body is not a JSON object")
        fields = {key: value for key, value in decoded.items() if value is not None}
        if "payload" in fields:
            fields["payload"] = json.dumps(fields["payload"], ensure_ascii=False)
        return cls.from_fields({key: str(value) for key, value in fields.items()})

    def data(self) -> Any:
        """The decoded payload."""
        return json.loads(self.payload)

    def as_json(self) -> str:
        """One JSON object: the envelope with the payload decoded (the consumer's output line)."""
        entry = asdict(self)
        entry["occurred_at"] = self.to_fields()["occurred_at"]
        entry["payload"] = self.data()
        return json.dumps(entry, ensure_ascii=False)
