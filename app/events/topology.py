"""Every name the events use on each broker, derived from one setting (EVENTS_STREAM), so a
service (or a test) that sets its own stream gets its own exchange, topic and subjects too.

    redis     stream `events:users`; dead letters `events:users:deadletter:<group>`
    rabbitmq  topic exchange `events.users`, routing key `<event_type>.<aggregate_id>`;
              a group's queue `events.users.<group>` (single active consumer), its dead letters
              via the exchange `events.users.deadletter` to `events.users.deadletter.<group>`
    kafka     topic `events.users`, key = aggregate id;
              dead letters `events.users.deadletter.<group>`
    nats      JetStream stream `EVENTS_USERS` on `events.users.>`, subject
              `events.users.<event_type>` (so `events.users.user.>` is one aggregate type),
              `Nats-Msg-Id` = event id; dead letters in `EVENTS_USERS_DEADLETTER` on
              `deadletter.events.users.<group>`
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.events.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Topology:
    stream: str  # EVENTS_STREAM, e.g. events:users

    @property
    def prefix(self) -> str:
        """`events.users`: the stream's name with dots (Kafka topics, NATS subjects and
        RabbitMQ exchanges all accept it)."""
        return re.sub(r"[^A-Za-z0-9_.-]", ".", self.stream)

    # Redis -------------------------------------------------------------------------------
    def redis_dead_letters(self, group: str) -> str:
        return f"{self.stream}:deadletter:{group}"

    # RabbitMQ ----------------------------------------------------------------------------
    @property
    def exchange(self) -> str:
        return self.prefix

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.deadletter"

    def routing_key(self, event: Envelope) -> str:
        return f"{event.event_type}.{event.aggregate_id}"

    def queue(self, group: str) -> str:
        return f"{self.prefix}.{group}"

    def dead_letter_queue(self, group: str) -> str:
        return f"{self.prefix}.deadletter.{group}"

    # Kafka -------------------------------------------------------------------------------
    @property
    def topic(self) -> str:
        return self.prefix

    def dead_letter_topic(self, group: str) -> str:
        return f"{self.prefix}.deadletter.{group}"

    # NATS JetStream ----------------------------------------------------------------------
    @property
    def jetstream(self) -> str:
        """JetStream stream names allow no dots: `EVENTS_USERS`."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.prefix).upper()

    @property
    def jetstream_subjects(self) -> str:
        return f"{self.prefix}.>"

    def subject(self, event: Envelope) -> str:
        return f"{self.prefix}.{event.event_type}"

    @property
    def dead_letter_jetstream(self) -> str:
        return f"{self.jetstream}_DEADLETTER"

    @property
    def dead_letter_subjects(self) -> str:
        return f"deadletter.{self.prefix}.>"

    def dead_letter_subject(self, group: str) -> str:
        return f"deadletter.{self.prefix}.{group}"
