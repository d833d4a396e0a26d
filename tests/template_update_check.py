"""`copier update` in a generated service brings in a later template fix, renamed, and keeps the
service's own changes. About 20 s, so `make test` does not collect this file (it does not match
test_*.py); `make template-check` runs it (tools/template/check.py)."""

from __future__ import annotations

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


def test_copier_update_brings_a_template_fix_renamed_and_keeps_the_service_own_changes(
    tmp_path: Path,
) -> None:
    # The clone carries the template's name, as a real one does: the answers file records it.
    template, service = tmp_path / "fastapi-service-template", tmp_path / "service"
    git(tmp_path, "clone", "--quiet", str(ROOT), str(template))
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
