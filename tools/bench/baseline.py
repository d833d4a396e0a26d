"""--baseline REF: the service of another git revision, started beside the stack under test.

The revision is checked out with `git worktree add --detach` into the run's folder and removed
again at the end (`git worktree remove --force`). It runs from its own files: gunicorn is
`python -m gunicorn` of the same virtualenv with the working directory in that checkout, so its
own `main:app`, `gunicorn.py.ini` and modules are imported whatever their layout (an older
revision's `app/settings.py` as much as the current `app/core/settings.py`); its nginx.conf is
rendered the way the current stack renders its own (tools/devstack/nginx.py, the login limit
left out, tools/bench/stack.py) with its own static folder. It gets the current stack's
environment (the same scratch database and Redis index, so the seeded sessions work on both)
and the current stack's worker count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.bench.stack import render_without_login_limit
from tools.devstack import nginx, processes
from tools.devstack.environment import require_world_readable
from tools.devstack.stack import LocalStack

START_TIMEOUT_S = 90.0  # a fresh checkout compiles every module on first import; a busy host


class BaselineError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Revision:
    ref: str
    commit: str
    subject: str

    def to_json(self) -> dict[str, str]:
        return {"ref": self.ref, "commit": self.commit, "subject": self.subject}


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (fixed argv, no shell)
        ["git", "-C", str(repo), *args],  # noqa: S607 (git from PATH)
        capture_output=True,
        text=True,
        check=False,
    )


def resolve(repo: Path, ref: str) -> Revision:
    """The commit `ref` names in `repo`; BaselineError when there is none."""
    try:
        found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except FileNotFoundError:
        raise BaselineError("--baseline needs git on PATH") from None
    if found.returncode != 0:
        raise BaselineError(
            f"--baseline {ref}: no commit of that name in {repo} (--baseline-repo names "
            "another repository)"
        )
    commit = found.stdout.strip()
    subject = _git(repo, "log", "-1", "--format=%s", commit).stdout.strip()
    return Revision(ref=ref, commit=commit, subject=subject)


class Worktree:
    """`git worktree add --detach` of one commit; `remove()` takes it away again."""

    def __init__(self, repo: Path, commit: str, path: Path) -> None:
        self.repo = repo
        self.commit = commit
        self.path = path

    def add(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        done = _git(
            self.repo, "worktree", "add", "--detach", "--quiet", str(self.path), self.commit
        )
        if done.returncode != 0:
            raise BaselineError(f"git worktree add {self.commit} failed: {done.stderr.strip()}")

    def remove(self) -> str | None:
        """None when removed; otherwise what to run by hand."""
        done = _git(self.repo, "worktree", "remove", "--force", str(self.path))
        if done.returncode != 0 and self.path.exists():
            return (
                f"git worktree remove failed ({done.stderr.strip()}); "
                f"run: git worktree remove --force {self.path}"
            )
        return None


class BaselineStack(LocalStack):
    """nginx + gunicorn of the revision checked out in `source`, as LocalStack runs the current
    one, but from that checkout's files."""

    def __init__(
        self, source: Path, *, env: Mapping[str, str], run_dir: Path, workers: int | None
    ) -> None:
        super().__init__(
            env={**env, "PYTHONPATH": str(source)},
            http_port=processes.free_port(),
            api_port=processes.free_port(),
            workers=workers,
            run_dir=run_dir,
        )
        self.source = source

    def nginx_values(self) -> dict[str, str]:
        return {**super().nginx_values(), "STATIC_ROOT": str(self.source / "static")}

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # nginx workers then run as `nobody`
            require_world_readable(self.source / "static")
        conf = self.run_dir / "nginx.conf"
        template = self.source / "nginx.conf"
        conf.write_text(render_without_login_limit(self.nginx_values(), template, required=False))
        nginx.check(self.run_dir, conf)
        try:
            self.start_api()
            self.wait_until_live(timeout, self.api_url)
            self._nginx = self._spawn(
                "nginx", nginx.command(self.run_dir, conf, "-g", "daemon off;")
            )
            self.wait_until_live(timeout)
        except BaseException:
            self.stop()
            raise

    def start_api(self) -> None:
        # The revision's gunicorn.py.ini, through its importable wrapper where it has one.
        wrapper = self.source / "utils" / "gunicorn_config.py"
        config = "python:utils.gunicorn_config" if wrapper.exists() else "gunicorn.py.ini"
        argv = [sys.executable, "-m", "gunicorn", "-c", config, "main:app"]
        self._gunicorn = self._spawn("gunicorn", argv)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # The working directory is the checkout: `python -m` imports its modules, not ours.
        return processes.spawn(argv, env=self.env, cwd=self.source, log=self._log(name))
