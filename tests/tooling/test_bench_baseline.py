"""`make bench ARGS="--baseline REF"` must not rot: a short smoke against HEAD checks out the
revision into the run's folder, starts its gunicorn and nginx beside the stack on the same
database and Redis index, runs hello-direct and getName on both (A B interleaved), reports the
current / baseline ratios and the Redis cost per /getName, and removes the checkout again.
The pieces it is built from (the order of runs, the Redis arithmetic) are checked without
starting anything."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tooling.test_bench_smoke import ROOT, run_bench
from tools.bench.cases import CASES, baseline_of, for_baseline, select
from tools.bench.redis_stats import RedisUse, Snapshot, cost, delta
from tools.bench.results import Measurement
from tools.bench.runner import interleave

BASELINE_CASES = {"hello-direct", "getName", "hello-direct@baseline", "getName@baseline"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def worktrees(repo: Path) -> set[str]:
    """The folders of the repository's worktrees (others may commit in theirs meanwhile)."""
    listing = git(repo, "worktree", "list", "--porcelain").splitlines()
    return {line.removeprefix("worktree ") for line in listing if line.startswith("worktree ")}


def repository_with_head(tmp_path: Path) -> Path:
    """This checkout's repository; where it is none (a service fresh from `copier copy`), a
    throwaway repository with one commit of its files."""
    probe = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
        check=False,
    )
    if probe.returncode == 0:
        return ROOT
    repo = tmp_path / "repo"
    git(tmp_path, "init", "--quiet", str(repo))
    tree = ["--git-dir", str(repo / ".git"), "--work-tree", str(ROOT)]
    git(repo, *tree, "add", "--all")
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    git(repo, *identity, *tree, "commit", "--quiet", "--message", "bench baseline")
    return repo


@pytest.mark.e2e
def test_baseline_smoke_runs_both_revisions_interleaved(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: `apt-get install wrk` (CI installs it)")
    repo = repository_with_head(tmp_path)
    worktrees_before = worktrees(repo)
    output = tmp_path / "bench.json"
    proc = run_bench(
        [
            *("--baseline", "HEAD", "--baseline-repo", str(repo)),
            *("--cases", "hello-direct,getName", "--output", str(output)),
        ],
        timeout_s=240,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    left = [w for w in worktrees(repo) - worktrees_before if w.endswith("/baseline-src")]
    assert not left, f"the baseline's checkout was not removed: {left}"

    result = json.loads(output.read_text())
    assert result["baseline"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert result["baseline"]["workers"] == result["workers"]
    # A B A B: each baseline pair right after the current stack's.
    order = [c["case"] for c in result["cases"]]
    assert order == ["hello-direct", "hello-direct@baseline", "getName", "getName@baseline"]
    for case in result["cases"]:
        assert case["requests"] > 0, case["case"]
        assert (case["socket_errors"], case["non_2xx"]) == (0, 0), (case["case"], case["runs"])
    ratios = {row["case"]: row for row in result["against_baseline"]}
    assert set(ratios) == {"hello-direct", "getName"}
    assert all(row["ratio"] > 0 and row["baseline_rps"] > 0 for row in ratios.values())
    redis = {row["case"]: row for row in result["redis_per_get_name"]}
    assert set(redis) == {"getName", "getName@baseline"}
    for row in redis.values():
        commands = {c["command"] for c in row["commands"]}
        assert "evalsha" in commands, row
        assert row["commands_usec_per_request"] > 0
        assert row["redis_cpu_usec_per_request"] > 0
    assert "current / baseline" in proc.stdout


def test_baseline_cases_follow_their_current_case_at_each_connection_count() -> None:
    cases = select(["hello-direct", "getName", "login"], {}, baseline=True)
    assert {c.name for c in cases} == BASELINE_CASES | {"login"}
    plan = [
        (case, Measurement(case.name, case.via, conns, "")) for case in cases for conns in (64, 256)
    ]
    order = [(case.name, m.connections) for case, m in interleave(plan)]
    assert order == [
        ("hello-direct", 64),
        ("hello-direct@baseline", 64),
        ("hello-direct", 256),
        ("hello-direct@baseline", 256),
        ("getName", 64),
        ("getName@baseline", 64),
        ("getName", 256),
        ("getName@baseline", 256),
        ("login", 64),
        ("login", 256),
    ]
    get_name = next(c for c in CASES if c.name == "getName")
    assert baseline_of(for_baseline(get_name).name) == "getName"
    assert baseline_of("getName@pgbouncer") is None


def test_redis_cost_counts_script_commands_once() -> None:
    """Commands a script runs are counted in their own row and inside the EVALSHA's time: the
    total per request is the EVALSHA's (and other client-sent commands'), not the sum."""
    before = Snapshot({"evalsha": (10, 1_000), "get": (50, 100), "info": (3, 30)}, cpu_s=1.0)
    after = Snapshot(
        {"evalsha": (110, 6_000), "get": (250, 500), "hgetall": (100, 400), "info": (5, 50)},
        cpu_s=1.02,
    )
    use = delta(before, after)
    assert use.commands == {"evalsha": (100, 5_000), "get": (200, 400), "hgetall": (100, 400)}
    c = cost([use], [100])
    assert c is not None
    rows = {r.command: r for r in c.commands}
    assert [r.command for r in c.commands if r.nested] == ["get"]
    assert rows["get"].calls_per_request == 2.0
    assert rows["evalsha"].usec_per_call == 50.0
    assert c.commands_usec_per_request == 50.0 + 4.0  # evalsha + hgetall, not get
    assert round(c.cpu_usec_per_request) == 200
    assert cost([RedisUse()], [0]) is None
