"""Throwaway servers start on a busy machine: a free port taken before they bind it means new
ports, and a Redis Cluster whose start failed starts once more on fresh nodes."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import redis

from tools.devstack.throwaway import ThrowawayRedis, ThrowawayRedisCluster, free_port


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


def test_a_cluster_whose_first_start_failed_starts_on_fresh_nodes() -> None:
    cluster = ThrowawayRedisCluster()
    (cluster.dir / "nodes-0.conf").write_text("not a cluster config\n")  # the node exits on it
    try:
        cluster.start()
        assert len(cluster.primaries()) == 3
    finally:
        cluster.destroy()


def test_a_started_cluster_has_three_primaries_and_a_replica_in_sync_for_each() -> None:
    """Counted from each node's own INFO: another node's view of a fresh replica can lag."""
    cluster = ThrowawayRedisCluster()
    try:
        cluster.start()
        replication = {node.port: _replication(node) for node in cluster.nodes}
        primaries = {port for port, info in replication.items() if info["role"] == "master"}
        replicas = [info for info in replication.values() if info["role"] == "slave"]
        assert {node.port for node in cluster.primaries()} == primaries
        assert len(primaries) == 3
        assert sorted(info["master_port"] for info in replicas) == sorted(primaries)
        assert all(info["master_link_status"] == "up" for info in replicas)
    finally:
        cluster.destroy()


def test_a_cluster_that_cannot_start_leaves_no_node_running() -> None:
    cluster = ThrowawayRedisCluster()
    cluster.START_ATTEMPTS = 1
    (cluster.dir / "nodes-3.conf").write_text("not a cluster config\n")
    with pytest.raises(RuntimeError):
        cluster.start()
    assert not any(node.running for node in cluster.nodes)


def _replication(node: ThrowawayRedis) -> dict[str, Any]:
    client = redis.Redis.from_url(node.url, socket_timeout=5)
    try:
        info: dict[str, Any] = client.info("replication")
        return info
    finally:
        client.close()


def _assert_answers(server: ThrowawayRedis) -> None:
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    try:
        assert client.ping()
    finally:
        client.close()
