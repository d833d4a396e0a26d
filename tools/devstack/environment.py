"""What the stack's processes may see: their environment, and (for nginx) the static files.

nginx started by root runs its workers as `nobody` (no `user` directive): they can serve
static files only if every folder on the way is world-searchable and the files world-readable.
Failing at start with the path beats a 403 on /static/ later."""

from __future__ import annotations

import os
import secrets  # part:gateway
import stat
from collections.abc import Mapping
from pathlib import Path


def process_env(
    env: Mapping[str, str], *, host: str, api_port: int, http_port: int
) -> dict[str, str]:
    """Our environment plus `env`, plus the addresses the stack decides."""
    merged = {**os.environ, **env}
    merged.setdefault("ENV_FILE", "")  # no dotenv unless asked: the caller's env is the truth
    # >>> part:gateway
    # nginx and the app must share the secret; a fresh one when none is given.
    merged["GATEWAY_SECRET"] = merged.get("GATEWAY_SECRET") or secrets.token_urlsafe(24)
    # <<< part:gateway
    merged.update(API_HOST=host, API_PORT=str(api_port), HTTP_PORT=str(http_port))
    return merged


def require_world_readable(folder: Path) -> None:
    folder = folder.resolve()
    for parent in [*reversed(folder.parents), folder]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise PermissionError(f"{parent} is not world-searchable: chmod o+x {parent}")
    for path in folder.rglob("*"):
        mode = path.stat().st_mode
        needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if mode & needed != needed:
            raise PermissionError(
                f"nginx workers (user nobody) cannot read {path}: chmod -R o+rX {folder}"
            )
