"""A stand-in for another team's service that reacts to domain events: it keeps its own copy of
users' display names, fed by `user.name_changed` over whichever broker EVENTS_BROKER names.

It reads the events the way any consuming service would (app/events/consumers.py: its own
consumer group, events deduplicated by id, retries, dead letters) and writes its effect in the
same MULTI as the "handled" marker, so a redelivered event never applies twice:

    downstream:names:{<group>}    hash  user id -> display name (the service's own data)
    downstream:effects:{<group>}  hash  event id -> times applied (1, unless something is wrong)

Run: python -m tools.downstream.names --group display-names   (settings from the environment)
"""

from __future__ import annotations

import argparse
import logging

from app.core.logging_config import configure_logging
from app.core.settings import Settings, get_settings
from app.events.cli import consumer_redis, run_until_signalled
from app.events.consumers import consume
from app.events.envelope import Envelope
from app.events.processing import ProcessedIds
from utils.redis.redis import RedisClient, close_redis

logger = logging.getLogger("downstream.names")
NAME_CHANGED = "user.name_changed"


def names_key(group: str) -> str:
    return f"downstream:names:{{{group}}}"


def effects_key(group: str) -> str:
    return f"downstream:effects:{{{group}}}"


class DisplayNames:
    """The handler: one MULTI sets the name, counts the effect and marks the event handled."""

    def __init__(self, redis: RedisClient, *, group: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._group = group
        self._processed = ProcessedIds(redis, group=group, ttl_seconds=ttl_seconds)

    async def __call__(self, event: Envelope) -> None:
        if event.event_type != NAME_CHANGED or event.schema_version != 1:
            return  # not ours: other types and versions are ignored
        data = event.data()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(names_key(self._group), str(data["user_id"]), data["new_name"])
            pipe.hincrby(effects_key(self._group), event.event_id, 1)
            self._processed.remember_in(pipe, event.event_id)
            await pipe.execute()
        logger.info("user %s is now called %r", data["user_id"], data["new_name"])


async def run(settings: Settings, group: str) -> None:
    redis = consumer_redis(settings)
    try:
        handler = DisplayNames(
            redis, group=group, ttl_seconds=settings.events_processed_ttl_seconds
        )
        await consume(settings, redis, group=group, consumer=f"{group}-1", handler=handler)
    finally:
        await close_redis(redis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", default="display-names", help="this service's consumer group")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.log_level)
    run_until_signalled(run(settings, args.group))


if __name__ == "__main__":
    main()
