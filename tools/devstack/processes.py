"""Child processes of the stack: start in their own session, find children, stop with a
deadline. Own sessions keep a terminal's Ctrl-C away from them, so the runner stops them in
order (nginx first, then gunicorn) instead of all at once.

A runner that is killed (SIGKILL, OOM killer) cannot stop anything: children started with
`die_with_parent` get a signal from the kernel instead (Linux PR_SET_PDEATHSIG)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Looked up before any fork: the child between fork and exec should only make the call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def signal_when_parent_dies(sig: int) -> Callable[[], None] | None:
    """A preexec_fn: the kernel sends `sig` to the child when the thread that started it exits,
    however it exits. So start such children from the runner's main thread. None where the
    kernel has no such setting (macOS): there only an orderly stop of the runner stops them."""
    if _prctl is None:
        return None
    prctl = _prctl
    parent = os.getpid()

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the setting took effect
            os._exit(1)

    return preexec


def listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at host:port right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path | None,
    die_with_parent: int | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv`; its output goes to `log` (appended), or to our own stdout when None.
    `die_with_parent`: the signal the child gets when we die (see signal_when_parent_dies);
    `user`: run as this user (we are root), switched before that setting is made."""
    out = open(log, "ab") if log is not None else None  # noqa: SIM115 (the child keeps it)
    preexec = signal_when_parent_dies(die_with_parent) if die_with_parent else None
    try:
        return subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,
            preexec_fn=preexec,  # between fork and exec: prctl and getppid, nothing else
            user=user,
            # That user's own group only, not ours (root's).
            group=pwd.getpwnam(user).pw_gid if user else None,
            extra_groups=[] if user else None,
        )
    finally:
        if out is not None:
            out.close()


def exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the process has exited, without reaping it: an unreaped zombie keeps its pid
    (and so its process group id) from being reused, which keeps `stop`'s killpg safe."""
    if proc.returncode is not None:
        return True
    try:
        status = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
    except ChildProcessError:  # reaped elsewhere
        return True
    return status is not None


def exit_reason(proc: subprocess.Popen[bytes]) -> str:
    """ "exit code N" or "killed by SIGX" for an exited process (still without reaping it)."""
    try:
        status = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
    except ChildProcessError:
        status = None
    if status is None:
        code = proc.returncode
        return "exited" if code is None else f"exit status {code}"
    if status.si_code == os.CLD_EXITED:
        return f"exit code {status.si_status}"
    return f"killed by {signal.Signals(status.si_status).name}"


def _wait_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not exited(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def stop(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float) -> None:
    """Signal the process, wait up to `timeout`, then kill its whole process group.

    The group is only ever signalled while its leader is alive or an unreaped zombie, so the
    id cannot belong to anybody else's processes (pids are reused)."""
    if proc.returncode is not None:
        return
    if not exited(proc):
        os.kill(proc.pid, sig)
        if not _wait_exited(proc, timeout):
            _kill_group(proc.pid)
            _wait_exited(proc, 5)
    # Orphans (e.g. workers of a master that was SIGKILLed) share the group: none may survive.
    _kill_group(proc.pid)
    proc.wait()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """Live direct children of `pid`, read from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # Fields after the parenthesised command name: state, ppid, ...
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":  # a zombie is dead, just not reaped yet
            found.append(int(entry.name))
    return sorted(found)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} missing)"
    return "\n".join(text.splitlines()[-lines:])


def logs_tail(folder: Path, names: Sequence[str]) -> str:
    """The last lines of each `folder/<name>.log` that exists, for error messages."""
    return "\n".join(
        f"--- {name}.log ---\n{log_tail(folder / f'{name}.log')}"
        for name in names
        if (folder / f"{name}.log").exists()
    )
