"""The stack under test, started the way `make local` starts it (tools.devstack.LocalStack):
gunicorn with gunicorn.py.ini and nginx with the rendered nginx.conf.

One difference, on purpose: nginx.conf limits POST /login per client address (a defence against
password guessing). All of the benchmark's load comes from one address, so that limit would turn
the login cases into 429s, so the rendered config leaves that one `limit_req` out. (A very high
rate is not enough: nginx counts requests handled in the same millisecond against the burst.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from tools.devstack import nginx
from tools.devstack.processes import free_port
from tools.devstack.stack import LocalStack

LOGIN_LIMIT = re.compile(r"^(\s*)limit_req\s+zone=login\b[^;]*;", re.MULTILINE)


class Stack(Protocol):
    @property
    def base_url(self) -> str: ...

    @property
    def api_url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def worker_pids(self) -> list[int]: ...


class BenchConfigError(RuntimeError):
    pass


_render = nginx.render


def render_without_login_limit(
    values: Mapping[str, str], template: Path = nginx.TEMPLATE, *, required: bool = True
) -> str:
    """`template` rendered as tools/devstack/nginx.py renders it, without the login limit.
    `required=False` (another revision's nginx.conf, --baseline) accepts a config without one."""
    text, found = LOGIN_LIMIT.subn(
        r"\g<1># limit_req zone=login: left out by tools/bench", _render(values, template)
    )
    if found > 1 or (required and found != 1):
        raise BenchConfigError(
            f"{template}: expected one `limit_req zone=login ...;` line, found "
            f"{found}; update LOGIN_LIMIT in tools/bench/stack.py"
        )
    return text


def _render_without_login_limit(values: Mapping[str, str], template: Path = nginx.TEMPLATE) -> str:
    return render_without_login_limit(values, template)


def local_stack(*, env: dict[str, str], run_dir: Path, workers: int | None) -> Stack:
    nginx.render = _render_without_login_limit  # write_config looks it up at call time
    return LocalStack(
        env=env,
        http_port=free_port(),
        api_port=free_port(),
        workers=workers,
        run_dir=run_dir,
    )
