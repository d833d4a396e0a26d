"""Throwaway servers start even when the free port they chose is taken before they bind it
(another process of a busy machine got there first): they choose new ports."""

from __future__ import annotations

import socket
from pathlib import Path

import redis

from tools.devstack.throwaway import ThrowawayRedis, free_port


def test_a_throwaway_redis_whose_port_was_taken_starts_on_another() -> None:
    server = ThrowawayRedis()
    taken = server.port
    with socket.socket() as squatter:  # bound, not listening: redis-server cannot bind it
        squatter.bind(("127.0.0.1", taken))
        server.start()
    try:
        assert server.port != taken
        _assert_answers(server)
    finally:
        server.stop()


def test_a_cluster_node_whose_bus_port_was_taken_starts_on_another(tmp_path: Path) -> None:
    """The data port listens before the bus port is bound: a node that then exits on a taken
    bus port must not count as started."""
    taken = free_port()
    server = ThrowawayRedis(
        "--cluster-enabled",
        "yes",
        "--cluster-port",
        str(taken),
        "--cluster-config-file",
        str(tmp_path / "nodes.conf"),
    )
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        server.start()
        try:
            _assert_answers(server)
        finally:
            server.stop()


def _assert_answers(server: ThrowawayRedis) -> None:
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    try:
        assert client.ping()
    finally:
        client.close()
