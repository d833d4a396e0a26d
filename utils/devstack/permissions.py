"""nginx started by root runs its workers as `nobody` (no `user` directive): they can serve
static files only if every folder on the way is world-searchable and the files world-readable.
Failing at start with the path beats a 403 on /static/ later."""

from __future__ import annotations

import stat
from pathlib import Path


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
