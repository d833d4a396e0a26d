"""`copier update` in a generated service brings in a later template fix, renamed, and keeps the
service's own changes. About 20 s, so `make test` does not collect this file (it does not match
test_*.py); `make template-check` runs it (tools/template/check.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tools.template.check import ROOT, generate, project_environment, template_traces


def run_in(service: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=service, env=project_environment(), capture_output=True, text=True, check=False
    )


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(cwd: Path, *args: str) -> None:
    env = {**project_environment(), **GIT_IDENTITY}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def clone_with_working_tree(destination: Path) -> None:
    """A clone of this repository whose last commit is the working tree as it is now (what
    `make template-check` generates from), so uncommitted changes are what is tested."""
    git(destination.parent, "clone", "--quiet", str(ROOT), str(destination))
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for relative in filter(None, listed):
        source, target = ROOT / relative, destination / relative
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():
            target.unlink()  # deleted in the working tree
    git(destination, "add", "-A")
    git(destination, "commit", "--quiet", "--allow-empty", "-m", "the working tree")


def test_copier_update_brings_a_template_fix_renamed_and_keeps_the_service_own_changes(
    tmp_path: Path,
) -> None:
    # The clone carries the template's name, as a real one does: the answers file records it.
    template, service = tmp_path / "fastapi-service-template", tmp_path / "service"
    clone_with_working_tree(template)
    generate(service, "Orders Service", source=template)
    git(service, "init", "--quiet")
    with (service / "Makefile").open("a") as makefile:
        makefile.write("# the service's own line\n")
    git(service, "add", "-A")
    git(service, "commit", "--quiet", "-m", "Orders Service")
    with (template / "docs/api.md").open("a") as doc:
        doc.write("\nA template fix that names fastapi-template.\n")
    git(template, "commit", "--quiet", "-am", "a template fix")

    result = run_in(service, sys.executable, "-m", "copier", "update", "--trust", "--defaults")

    assert result.returncode == 0, result.stderr
    assert (
        (service / "docs/api.md")
        .read_text()
        .endswith("A template fix that names orders-service.\n")
    )
    assert (service / "Makefile").read_text().endswith("# the service's own line\n")
    assert template_traces(service) == []


FEATURE_ROUTER = """from fastapi import APIRouter

router = APIRouter(prefix="/widgets", tags=["widgets"])


@router.get("")
async def list_widgets() -> list[str]:
    return []
"""


def add_feature(service: Path) -> None:
    """What a team adds first: a feature package and its one registration line."""
    package = service / "app" / "widgets"
    package.mkdir()
    (package / "__init__.py").write_text('"""Widgets."""\n')
    (package / "router.py").write_text(FEATURE_ROUTER)
    versions = service / "app" / "api" / "v1" / "__init__.py"
    text = versions.read_text()
    text = text.replace(
        "from app.user import router as user\n",
        "from app.user import router as user\nfrom app.widgets import router as widgets\n",
    )
    text = text.replace(
        "    user.search_router,\n", "    user.search_router,\n    widgets.router,\n"
    )
    assert "widgets.router" in text, "app/api/v1/__init__.py changed: update this test"
    versions.write_text(text)


def test_a_service_with_a_feature_follows_a_release_with_no_conflict(tmp_path: Path) -> None:
    """Made from the template's git URL at its newest tag; after a release that changes platform
    code, a plain `copier update` (no --vcs-ref) takes it, and the feature stays as it was."""
    template, service = tmp_path / "fastapi-service-template", tmp_path / "service"
    clone_with_working_tree(template)
    git(template, "tag", "v1.0.0")
    url = f"git+file://{template}"
    generate(service, "Orders Service", source=url, vcs_ref=None)
    answers = (service / ".copier-answers.yml").read_text()
    assert f"_src_path: {url}" in answers  # a teammate's clone records the same URL
    assert "_commit: v1.0.0" in answers
    git(service, "init", "--quiet")
    add_feature(service)
    git(service, "add", "-A")
    git(service, "commit", "--quiet", "-m", "Orders Service with widgets")

    errors = template / "app" / "http" / "errors.py"
    errors.write_text(errors.read_text() + "\n# a platform fix of the template\n")
    git(template, "commit", "--quiet", "-am", "a platform fix")
    released = subprocess.run(  # the machine may have no git identity
        [sys.executable, "-m", "tools.release", "1.1.0", "--root", str(template)],
        cwd=template,
        env={**project_environment(), **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert released.returncode == 0, released.stdout + released.stderr

    result = run_in(service, sys.executable, "-m", "copier", "update", "--trust", "--defaults")

    assert result.returncode == 0, result.stderr
    assert "_commit: v1.1.0" in (service / ".copier-answers.yml").read_text()
    assert (
        (service / "app/http/errors.py").read_text().endswith("# a platform fix of the template\n")
    )
    assert "widgets.router" in (service / "app/api/v1/__init__.py").read_text()
    conflicts = run_in(service, "git", "diff", "--check")
    assert "conflict marker" not in conflicts.stdout, conflicts.stdout
    assert not list(service.rglob("*.rej"))


GATEWAY_FILES = ("app/gateway", "tools/downstream/echo.py", "deploy/k8s/base/echo.yaml")


def test_answering_no_later_removes_the_gateway_from_a_service(tmp_path: Path) -> None:
    """A service made with every part drops the gateway through `copier update --data
    gateway=false`: its files are deleted, its blocks removed, the service's own change kept,
    and the rest still imports and lints."""
    template, service = tmp_path / "fastapi-service-template", tmp_path / "service"
    clone_with_working_tree(template)
    generate(service, "Orders Service", source=template)
    assert all((service / path).exists() for path in GATEWAY_FILES)
    git(service, "init", "--quiet")
    with (service / "Makefile").open("a") as makefile:
        makefile.write("# the service's own line\n")
    git(service, "add", "-A")
    git(service, "commit", "--quiet", "-m", "Orders Service")

    update = ("copier", "update", "--trust", "--defaults", "--data", "gateway=false")
    result = run_in(service, sys.executable, "-m", *update)

    assert result.returncode == 0, result.stderr
    assert "gateway: false" in (service / ".copier-answers.yml").read_text()
    assert [path for path in GATEWAY_FILES if (service / path).exists()] == []
    nginx_conf = (service / "nginx.conf").read_text()
    assert "/auth/verify" not in nginx_conf
    assert "ECHO_UPSTREAM" not in nginx_conf
    assert "gateway" not in (service / "app/api/__init__.py").read_text()
    assert (service / "Makefile").read_text().endswith("# the service's own line\n")
    assert (service / "app/events").exists()  # the other parts stay
    assert not list(service.rglob("*.rej"))
    for command in (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("python", "-c", "import main, app.cli; main.create_app"),
    ):
        checked = run_in(service, "uv", "run", "--frozen", *command)
        assert checked.returncode == 0, checked.stdout + checked.stderr
