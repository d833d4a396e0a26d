"""Running wrk with a case script and reading the line that `lua/report.lua` prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
MARKER = "BENCH_JSON "
INSTALL_HINT = (
    "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`"
)
# wrk counts a request that takes longer than this as a timeout (a socket error) and drops its
# latency; generous, so slow answers show up in p99 instead of vanishing into the error count.
TIMEOUT = "10s"


class WrkMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


class WrkFailed(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int  # every status >= 400, shed included
    socket_errors: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    shed: int = 0  # 503 with Retry-After (only counted where the case script includes shed.lua)

    @property
    def other_non_2xx(self) -> int:
        return self.non_2xx - self.shed


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing
    return found


def build_script(script: str, run_dir: Path, *, count_shed: bool = False) -> Path:
    """Case script + the shared rotation helper (if it needs one) + the shed counter (if asked
    for) + the report, as one file."""
    parts = []
    body = (LUA_DIR / script).read_text()
    if "build_request" in body:
        parts.append((LUA_DIR / "rotate.lua").read_text())
    parts.append(body)
    if count_shed:
        parts.append((LUA_DIR / "shed.lua").read_text())
    parts.append((LUA_DIR / "report.lua").read_text())
    suffix = "-shed" if count_shed else ""
    path = run_dir / f"wrk{suffix}-{script}"
    path.write_text("\n".join(parts))
    return path


def parse(stdout: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            break
    else:
        raise WrkFailed(f"wrk printed no result line:\n{stdout[-2000:]}")
    duration = raw["duration_us"] / 1e6
    socket = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return WrkResult(
        requests=raw["requests"],
        duration_s=duration,
        rps=raw["requests"] / duration if duration else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non_2xx=raw["status"],
        socket_errors=socket,
        connect_errors=raw["connect"],
        read_errors=raw["read"],
        write_errors=raw["write"],
        timeouts=raw["timeout"],
        shed=raw.get("shed", 0),
    )


def command(
    *, url: str, script: Path, connections: int, threads: int, duration_s: float, args: list[str]
) -> list[str]:
    return [
        wrk_path(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={TIMEOUT}",
        "-s",
        str(script),
        url,
        "--",
        *args,
    ]


def start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603


def finish(proc: subprocess.Popen[str], *, timeout_s: float) -> WrkResult:
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise WrkFailed(f"wrk did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise WrkFailed(f"wrk exited {proc.returncode}: {stderr.strip() or stdout[-2000:]}")
    return parse(stdout)


def run(cmd: list[str], *, duration_s: float) -> WrkResult:
    return finish(start(cmd), timeout_s=duration_s + 30)
