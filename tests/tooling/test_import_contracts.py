"""`make lint` runs the import contracts of pyproject.toml (lint-imports): they hold on the
tree as it is, and an import that breaks a layer makes them fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("app", "utils", "tools")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts: edits there leave the checkout alone."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}\n", encoding="utf-8")


def test_the_contracts_hold_on_the_tree(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        pytest.param(
            "app/http/errors.py",
            "import app.auth.exceptions",
            "API assembly -> features -> platform",
            id="platform-imports-a-feature",
        ),
        pytest.param(
            "app/auth/sessions.py",
            "import app.user.service",
            "API assembly -> features -> platform",
            id="auth-imports-user",
        ),
        # >>> part:events
        pytest.param(
            "app/user/service.py",
            "import app.events.outbox",
            "optional parts",
            id="a-feature-imports-events",
        ),
        # <<< part:events
        pytest.param(
            "app/core/settings.py",
            "import tools.devstack",
            "never imports its tooling",
            id="app-imports-tools",
        ),
        pytest.param(
            "utils/cpus.py", "import app.core.settings", "utils takes plain values", id="utils-app"
        ),
    ],
)
def test_a_forbidden_import_fails_the_lint(
    tree: Path, module: str, statement: str, contract: str
) -> None:
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(contract in line for line in broken) or contract in result.stdout, result.stdout
