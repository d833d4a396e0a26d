"""`make release VERSION=...` (tools/release.py): one version in version.py, pyproject.toml and
uv.lock, a commit and a `v` tag; refusals are clear and change nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.services import ROOT
from tools.release import ReleaseError, git, release


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding this project's three versioned files."""
    for name in ("version.py", "pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    subprocess.run(["git", "init", "--quiet"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "user.name", "test"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "user.email", "t@example.invalid"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "commit", "--quiet", "-m", "start"], cwd=tmp_path, check=True)
    return tmp_path


def test_a_release_sets_the_version_everywhere_commits_and_tags(repo: Path) -> None:
    assert release(repo, "7.8.9") == "v7.8.9"
    assert '__version__ = "7.8.9"' in (repo / "version.py").read_text()
    assert '\nversion = "7.8.9"' in (repo / "pyproject.toml").read_text()
    assert 'version = "7.8.9"\nsource = { virtual = "." }' in (repo / "uv.lock").read_text()
    assert git(repo, "describe", "--tags", "--exact-match") == "v7.8.9"
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "01.2.3", "1.2.3-rc1"])
def test_a_version_that_is_not_semantic_is_refused(repo: Path, version: str) -> None:
    with pytest.raises(ReleaseError, match="not a semantic version"):
        release(repo, version)


def test_uncommitted_changes_are_refused_and_nothing_is_tagged(repo: Path) -> None:
    (repo / "version.py").write_text((repo / "version.py").read_text() + "# edit\n")
    with pytest.raises(ReleaseError, match="uncommitted"):
        release(repo, "2.0.0")
    assert git(repo, "tag", "--list") == ""


def test_an_existing_tag_is_refused(repo: Path) -> None:
    release(repo, "2.0.0")
    with pytest.raises(ReleaseError, match="exists already"):
        release(repo, "2.0.0")
