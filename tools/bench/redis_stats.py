"""Redis's share of a request: `INFO commandstats` and `INFO cpu` read before and after a run.

Both are counters of the whole server, not of one DB index: on a Redis that others use at the
same time their commands are counted too (the benchmark's own show as calls per request near
whole numbers). A command that a Lua script runs (`redis.call`) is counted twice: in its own
row and inside the time of the EVALSHA that ran it. So the commands' total per request adds up
only the commands sent by a client: the ones the app's session script runs are left out of it
whenever scripts ran. `INFO cpu` is the server process's CPU time, which includes what the
command times leave out (reading, parsing and writing the network traffic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import redis

from app.auth.sessions import AUTHENTICATE_LUA

# Our own readings; never part of a request.
OWN_COMMANDS = frozenset({"info"})
SCRIPT_COMMANDS = frozenset({"evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"})
# What the app's authentication script runs inside its EVALSHA (GET, EXPIRE, SET, ZADD, ...).
SESSION_SCRIPT_CALLS = frozenset(
    name.lower() for name in re.findall(r"redis\.call\('(\w+)'", AUTHENTICATE_LUA)
)
# Rows below this many calls per request are other clients' traffic or one-offs (a script
# load), not part of every request.
MIN_CALLS_PER_REQUEST = 0.05


@dataclass(frozen=True, slots=True)
class Snapshot:
    commands: dict[str, tuple[int, int]]  # command -> (calls, usec)
    cpu_s: float  # used_cpu_user + used_cpu_sys of the server process


@dataclass(slots=True)
class RedisUse:
    """What the server did between two snapshots: calls and microseconds per command, and its
    CPU seconds."""

    commands: dict[str, tuple[int, int]] = field(default_factory=dict)
    cpu_s: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "commands": {k: {"calls": c, "usec": u} for k, (c, u) in self.commands.items()},
            "cpu_s": round(self.cpu_s, 4),
        }


@dataclass(frozen=True, slots=True)
class CommandCost:
    command: str
    calls_per_request: float
    usec_per_call: float
    nested: bool  # run by the session script: its time is inside the EVALSHA's

    @property
    def usec_per_request(self) -> float:
        return self.calls_per_request * self.usec_per_call


@dataclass(frozen=True, slots=True)
class RedisCost:
    """Per request, over every run of a measurement."""

    requests: int
    commands: list[CommandCost]
    commands_usec_per_request: float  # commands sent by clients, scripts' inner ones left out
    cpu_usec_per_request: float  # the server process's CPU time


def _command_name(key: str) -> str:
    # cmdstat_get; Redis 7 names subcommands cmdstat_script|load.
    return key.removeprefix("cmdstat_").lower()


def snapshot(client: redis.Redis) -> Snapshot:
    stats: dict[str, Any] = client.info("commandstats")
    cpu: dict[str, Any] = client.info("cpu")
    commands = {
        _command_name(key): (int(value["calls"]), int(value["usec"]))
        for key, value in stats.items()
        if isinstance(value, dict)
    }
    return Snapshot(commands, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]))


def delta(before: Snapshot, after: Snapshot) -> RedisUse:
    used = {}
    for name, (calls, usec) in after.commands.items():
        calls0, usec0 = before.commands.get(name, (0, 0))
        if calls > calls0 and name not in OWN_COMMANDS:
            used[name] = (calls - calls0, usec - usec0)
    return RedisUse(used, after.cpu_s - before.cpu_s)


def cost(uses: list[RedisUse], requests: list[int]) -> RedisCost | None:
    """Per request over the runs (`requests[i]` answered during `uses[i]`)."""
    total = sum(requests)
    if not uses or not total:
        return None
    calls: dict[str, int] = {}
    usec: dict[str, int] = {}
    for use in uses:
        for name, (c, u) in use.commands.items():
            calls[name] = calls.get(name, 0) + c
            usec[name] = usec.get(name, 0) + u
    scripted = any(name in SCRIPT_COMMANDS for name in calls)
    rows = [
        CommandCost(
            name,
            calls[name] / total,
            usec[name] / calls[name],
            nested=scripted and name in SESSION_SCRIPT_CALLS,
        )
        for name in calls
        if calls[name] / total >= MIN_CALLS_PER_REQUEST
    ]
    rows.sort(key=lambda r: (r.nested, -r.usec_per_request))
    return RedisCost(
        requests=total,
        commands=rows,
        commands_usec_per_request=sum(r.usec_per_request for r in rows if not r.nested),
        cpu_usec_per_request=sum(u.cpu_s for u in uses) / total * 1e6,
    )
