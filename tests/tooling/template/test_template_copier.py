"""`copier copy` of this repository makes a renamed, working service. The fast half runs here
(no template name left, ruff passes, the lock file is valid); `make template-check` also runs the
new service's mypy and its whole test suite (CI runs it as its own step)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.template.check import ROOT, generate, project_environment, template_traces


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("copier") / "orders-service"
    generate(destination, "Orders Service")
    return destination


def run_in(service: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=service, env=project_environment(), capture_output=True, text=True, check=False
    )


def test_generated_service_has_no_trace_of_the_template_name(service: Path) -> None:
    assert template_traces(service) == []


def test_generated_service_is_named_in_metadata_compose_app_and_processes(service: Path) -> None:
    assert 'name = "orders-service"' in (service / "pyproject.toml").read_text()
    assert "name: orders-service\n" in (service / "compose.yaml").read_text()
    assert "name: orders-service-prod\n" in (service / "compose.prod.yaml").read_text()
    settings = (service / "app/core/settings.py").read_text()
    assert 'service_name: str = "Orders Service"' in settings  # the OpenAPI title, the mail
    assert 'db_application_name: str = "orders-service"' in settings
    assert 'proc_name = "orders-service"' in (service / "gunicorn.py.ini").read_text()
    assert (service / "readme.md").read_text().startswith("# Orders Service\n")


def test_generated_lock_file_is_valid_for_the_renamed_project(service: Path) -> None:
    result = run_in(service, "uv", "lock", "--check", "--offline")
    assert result.returncode == 0, result.stderr
    assert 'name = "orders-service"' in (service / "uv.lock").read_text()


def test_generated_service_passes_ruff_and_actionlint(service: Path) -> None:
    actionlint = ("actionlint", ".github/workflows/ci.yml")
    for command in (("ruff", "check", "."), ("ruff", "format", "--check", "."), actionlint):
        result = run_in(service, "uv", "run", "--frozen", *command)
        assert result.returncode == 0, result.stdout + result.stderr


def test_generated_service_records_its_answers_for_copier_update(service: Path) -> None:
    lines = (service / ".copier-answers.yml").read_text().splitlines()
    assert "project_name: Orders Service" in lines
    assert "project_slug: orders-service" in lines
    assert {line.split(":")[0] for line in lines} >= {"_src_path", "_commit"}


def test_generated_service_carries_none_of_the_template_only_parts(service: Path) -> None:
    left = [
        "copier.yml",
        "tools/template",
        "tests/tooling/template/test_template_copier.py",
        "results",
    ]
    assert [path for path in left if (service / path).exists()] == []
    assert "template-only" not in (service / "readme.md").read_text()
    for path in ("Makefile", ".ci/run", ".github/workflows/ci.yml"):
        assert "template-check" not in (service / path).read_text(), path


TEMPLATE_ONLY = ("copier.yml", "tools/template/", "tests/tooling/template/")


def test_generated_service_has_every_other_file_of_the_template(service: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    expected = [
        path
        for path in tracked
        if path
        and (ROOT / path).exists()
        and not path.startswith(TEMPLATE_ONLY)
        and not path.endswith(".jinja")  # the answers file's template: rendered, not copied
    ]
    assert [path for path in expected if not (service / path).exists()] == []
