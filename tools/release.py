"""`make release VERSION=1.2.0`: one semantic version in version.py, pyproject.toml and uv.lock,
committed and tagged `v1.2.0`.

copier takes the newest version tag of a template by default, so services made from it, and
their `copier update`, follow releases without `--vcs-ref`. A service uses the same command for
its own releases (the image label and `/v2/hello` read version.py).
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class ReleaseError(Exception):
    pass


def git(root: Path, *args: str) -> str:
    command = ["git", *args]
    return subprocess.run(  # noqa: S603
        command, cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def project_name(root: Path) -> str:
    match = re.search(r'^name = "([^"]+)"', (root / "pyproject.toml").read_text(), flags=re.M)
    if match is None:
        raise ReleaseError("pyproject.toml has no [project] name")
    return match.group(1)


def set_version(root: Path, version: str) -> None:
    """The three places that carry the version; each must change exactly once."""
    name = re.escape(project_name(root))
    edits = {
        "version.py": (r'^__version__ = "[^"]*"', f'__version__ = "{version}"'),
        "pyproject.toml": (r'^version = "[^"]*"', f'version = "{version}"'),
        "uv.lock": (rf'(^name = "{name}"\nversion = )"[^"]*"', rf'\g<1>"{version}"'),
    }
    for relative, (pattern, replacement) in edits.items():
        path = root / relative
        text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.M)
        if count != 1:
            raise ReleaseError(f"{relative}: no version to set")
        path.write_text(text)


def release(root: Path, version: str) -> str:
    if not SEMVER.match(version):
        raise ReleaseError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    tag = f"v{version}"
    if git(root, "status", "--porcelain", "--untracked-files=no"):
        raise ReleaseError("the working tree has uncommitted changes: commit them first")
    if git(root, "tag", "--list", tag):
        raise ReleaseError(f"{tag} exists already")
    set_version(root, version)
    git(root, "commit", "--quiet", "-am", f"Release {version}")
    git(root, "tag", "--annotate", tag, "-m", f"Release {version}")
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="MAJOR.MINOR.PATCH, e.g. 1.2.0")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    try:
        tag = release(args.root, args.version)
    except ReleaseError as exc:
        print(f"release: {exc}")
        return 2
    print(f"tagged {tag}; push it with: git push --follow-tags")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
