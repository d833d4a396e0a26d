"""The versioned envelope every stream entry carries; consumers depend on this and nothing else.

Field values are strings because Redis stream fields are strings. `payload` is JSON text whose
shape is fixed by (event_type, schema_version): within a version, fields are only ever added.
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

    def data(self) -> Any:
        """The decoded payload."""
        return json.loads(self.payload)

    def as_json(self) -> str:
        """One JSON object: the envelope with the payload decoded (the consumer's output line)."""
        entry = asdict(self)
        entry["occurred_at"] = self.to_fields()["occurred_at"]
        entry["payload"] = self.data()
        return json.dumps(entry, ensure_ascii=False)
