"""The benchmark's consumer of domain events (tools/bench/events.py starts it): the same loop as
`python -m app.cli consume-events` (app/events/consumers.py, on EVENTS_BROKER, as one consumer
group), whose handler writes one line per event to --out, flushed:

    <event_id> <occurred_at, epoch seconds> <received, epoch seconds>

and prints "ready" on stdout once the group's queue, subscription or stream group exists.
Settings come from the environment, as the app's. Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO

from app.core.settings import get_settings
from app.events.cli import consumer_redis, run_until_signalled
from app.events.consumers import consume
from app.events.envelope import Envelope
from utils.redis.redis import close_redis


class Recorder:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def __call__(self, event: Envelope) -> None:
        received = time.time()
        occurred = event.occurred_at.timestamp()
        self.out.write(f"{event.event_id} {occurred:.6f} {received:.6f}\n")
        self.out.flush()


async def run(out_path: Path, group: str) -> None:
    settings = get_settings()
    redis = consumer_redis(settings)
    ready = asyncio.Event()

    async def announce() -> None:
        await ready.wait()
        print("ready", flush=True)

    announcing = asyncio.create_task(announce())
    try:
        with out_path.open("a") as out:
            await consume(
                settings,
                redis,
                group=group,
                consumer=f"{group}-1",
                handler=Recorder(out),
                claim_idle_ms=5_000,
                block_ms=1_000,
                ready=ready,
            )
    finally:
        announcing.cancel()
        await close_redis(redis)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="one line per event received")
    parser.add_argument("--group", default="bench", help="consumer group")
    args = parser.parse_args()
    run_until_signalled(run(args.out, args.group))
    return 0


if __name__ == "__main__":
    sys.exit(main())
