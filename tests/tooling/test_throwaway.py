"""Throwaway servers start even when the free port they chose is taken before they bind it
(another process of a busy machine got there first): they choose new ports."""

from __future__ import annotations

import socket

import redis

from tools.devstack.throwaway import ThrowawayRedis


def test_a_throwaway_redis_whose_port_was_taken_starts_on_another() -> None:
    server = ThrowawayRedis()
    taken = server.port
    with socket.socket() as squatter:  # bound, not listening: redis-server cannot bind it
        squatter.bind(("127.0.0.1", taken))
        server.start()
    try:
        assert server.port != taken
        client = redis.Redis.from_url(server.url, socket_timeout=5)
        try:
            assert client.ping()
        finally:
            client.close()
    finally:
        server.stop()
