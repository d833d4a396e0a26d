"""The faults: what each breaks, how it is undone, and what clients may see meanwhile."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from tools.chaos.environment import ChaosEnvironment
from tools.devstack.stack import LocalStack

ALL_KINDS = frozenset({"login", "setName", "getName", "hello"})
NEEDS_STORES = frozenset({"login", "setName", "getName"})  # /v1/hello needs neither store


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[ChaosEnvironment], None]
    restore: Callable[[ChaosEnvironment], None]
    may_fail: frozenset[str]  # request kinds allowed to fail while the fault lasts
    failure_statuses: frozenset[int]  # what such a failure must be (always a JSON body)
    dependency: str | None  # the 503 body must name it
    workers_survive: bool  # the gunicorn worker pids must be the same afterwards
    sessions_survive: bool = True  # False: Redis restarts empty, so 401 -> login again
    held: bool = True  # False: the fault is one event (a kill); restore only waits it out
    # Set for faults needing a Redis Cluster (ChaosEnvironment(redis_cluster=True)).
    needs_redis_cluster: bool = False


def _stack(env: ChaosEnvironment) -> LocalStack:
    assert env.stack is not None
    return env.stack


def _kill_a_worker(env: ChaosEnvironment) -> None:
    os.kill(_stack(env).worker_pids()[0], signal.SIGKILL)


def _workers_back(env: ChaosEnvironment) -> None:
    _stack(env).wait_for_workers(env.workers)


def _api_back(env: ChaosEnvironment) -> None:
    _stack(env).start_api()
    _stack(env).wait_until_live()
    _workers_back(env)


def _kill_a_redis_primary(env: ChaosEnvironment) -> None:
    assert env.cluster is not None
    env.killed_primary = env.cluster.kill_a_primary()


def _failover_done(env: ChaosEnvironment) -> None:
    """The killed primary's replica has taken over: every slot is served again."""
    assert env.cluster is not None
    assert env.killed_primary is not None
    env.cluster.wait_for_failover(env.killed_primary)


# A primary of a Redis Cluster dies; its replica is promoted after the node timeout (1 s in
# the throwaway cluster). Meanwhile its slots answer 503; afterwards the client follows the
# new map by itself. Replication is asynchronous: a session written just before the kill may
# be gone (401, log in again); setName is in PostgreSQL and must not be lost.
REDIS_FAILOVER = Fault(
    name="redis primary killed (failover)",
    inject=_kill_a_redis_primary,
    restore=_failover_done,
    may_fail=NEEDS_STORES,
    failure_statuses=frozenset({503}),
    dependency="redis",
    workers_survive=True,
    sessions_survive=False,
    held=False,
    needs_redis_cluster=True,
)

FAULTS = (
    Fault(
        name="redis stopped",
        inject=lambda env: env.redis.stop(),
        restore=lambda env: env.redis.start(),
        may_fail=NEEDS_STORES,
        failure_statuses=frozenset({503}),
        dependency="redis",
        workers_survive=True,
        sessions_survive=False,
    ),
    Fault(
        name="postgres stopped",
        inject=lambda env: env.postgres.stop(),
        restore=lambda env: env.postgres.start(),
        may_fail=NEEDS_STORES,
        failure_statuses=frozenset({503}),
        dependency="postgres",
        workers_survive=True,
    ),
    Fault(
        name="worker SIGKILL",
        inject=_kill_a_worker,
        restore=_workers_back,
        may_fail=ALL_KINDS,  # only the requests in flight on that worker (checked in report)
        failure_statuses=frozenset({502}),
        dependency=None,
        workers_survive=False,
        held=False,
    ),
    Fault(
        name="all API processes down",
        inject=lambda env: _stack(env).stop_api(),
        restore=_api_back,
        may_fail=ALL_KINDS,
        failure_statuses=frozenset({502, 503}),
        dependency=None,
        workers_survive=False,
    ),
)
