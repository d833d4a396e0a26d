"""tools/template/rename.py, the task copier runs after copying: every spelling of the template's
name becomes the new service's, template-only blocks go, the metadata takes the answers."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import TypedDict

import pytest

from tests.services import ROOT
from tools.template.rename import (
    APP_ROLE,
    PART_MARKER,
    PARTS,
    MarkerError,
    app_role,
    rename,
    without_parts,
)

LINE_LENGTH = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]


class Answers(TypedDict):
    name: str
    slug: str
    description: str
    author: str


ANSWERS: Answers = {
    "name": "Orders Service",
    "slug": "orders-service",
    "description": "Takes orders.",
    "author": "Ada Lovelace",
}


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_each_spelling_takes_the_matching_new_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": 'title="FastAPI service template"\nname: fastapi-template\n'
            'pkg = "fastapi-service-template"\nmodule = fastapi_template\n'
        },
    )
    rename(tmp_path, **ANSWERS)
    assert (tmp_path / "main.py").read_text() == (
        'title="Orders Service"\nname: orders-service\n'
        'pkg = "orders-service"\nmodule = orders_service\n'
    )


def test_the_database_role_becomes_the_services_own(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "db/migrations/1_x.sql": "GRANT SELECT ON users TO app_user;\n",
            "tests/helpers.py": "def as_app_user(url): ...\nROLE = 'app_user'\n",
        },
    )
    rename(tmp_path, **ANSWERS)
    migration = (tmp_path / "db/migrations/1_x.sql").read_text()
    assert migration == "GRANT SELECT ON users TO orders_service_app;\n"
    helpers = (tmp_path / "tests/helpers.py").read_text()
    assert helpers == "def as_app_user(url): ...\nROLE = 'orders_service_app'\n"


def test_template_only_blocks_are_removed_with_their_markers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Makefile": "lint:\n\truff\n# >>> template-only\ntemplate-check:\n\tcheck\n"
            "# <<< template-only\ntest:\n\tpytest\n"
        },
    )
    rename(tmp_path, **ANSWERS)
    assert (tmp_path / "Makefile").read_text() == "lint:\n\truff\ntest:\n\tpytest\n"


def test_pyproject_takes_the_description_and_the_author(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "fastapi-service-template"\n'
            'description = "FastAPI service template: measured."\nreadme = "readme.md"\n'
        },
    )
    rename(tmp_path, **ANSWERS)
    assert (tmp_path / "pyproject.toml").read_text() == (
        '[project]\nname = "orders-service"\ndescription = "Takes orders."\n'
        'authors = [{ name = "Ada Lovelace" }]\nreadme = "readme.md"\n'
    )


def test_license_names_the_author_as_the_holder(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "LICENSE": "MIT License\n\nCopyright (c) 2026 The FastAPI service template "
            "authors\n\nPermission is hereby granted\n"
        },
    )
    rename(tmp_path, **ANSWERS)
    assert "Copyright (c) 2026 Ada Lovelace\n" in (tmp_path / "LICENSE").read_text()


def test_readme_starts_with_the_name_and_the_description(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "readme.md": "# FastAPI service template\n\n<!-- >>> template-only -->\n"
            "uvx copier copy ...\n<!-- <<< template-only -->\n\nWhat it is.\n"
        },
    )
    rename(tmp_path, **ANSWERS)
    assert (
        tmp_path / "readme.md"
    ).read_text() == "# Orders Service\n\nTakes orders.\n\nWhat it is.\n"


def test_renaming_again_changes_nothing(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "readme.md": "# FastAPI service template\n\nWhat it is.\n",
            "pyproject.toml": '[project]\nname = "fastapi-service-template"\ndescription = "x"\n',
            "LICENSE": "Copyright (c) 2026 someone\n",
        },
    )
    rename(tmp_path, **ANSWERS)
    assert rename(tmp_path, **ANSWERS) == []


def test_binary_files_and_the_git_directory_are_left_alone(tmp_path: Path) -> None:
    image = b"\x89PNG\r\n\x1a\n\xff\xfefastapi-template"
    write(tmp_path, {"static/logo.png": image, ".git/config": "[remote] fastapi-template\n"})
    assert rename(tmp_path, **ANSWERS) == []
    assert (tmp_path / "static/logo.png").read_bytes() == image


def test_the_answers_file_keeps_the_template_address_for_copier_update(tmp_path: Path) -> None:
    answers = "_src_path: gh:your-org/fastapi-service-template\nproject_name: Orders Service\n"
    write(tmp_path, {".copier-answers.yml": answers})
    assert rename(tmp_path, **ANSWERS) == []
    assert (tmp_path / ".copier-answers.yml").read_text() == answers


def test_a_removed_block_leaves_no_double_blank_line(tmp_path: Path) -> None:
    write(tmp_path, {"run": "lint\n\n# >>> template-only\ncheck\n# <<< template-only\n\ntest\n"})
    rename(tmp_path, **ANSWERS)
    assert (tmp_path / "run").read_text() == "lint\n\ntest\n"


# copier.yml caps the slug at 30 characters, so the role grows by at most 26 over `app_user`.
ROLE_GROWTH = len(app_role("a" * 30)) - len("app_user")


def test_every_python_line_naming_the_app_role_has_room_for_a_service_role() -> None:
    """The renamed line must still pass ruff's line length in every generated service."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "*.py.tmpl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    too_long = [
        f"{path}:{number}"
        for path in tracked
        if not path.startswith(("tools/template/", "tests/tooling/template/"))
        for number, line in enumerate((ROOT / path).read_text().splitlines(), start=1)
        if APP_ROLE.search(line) and len(line) + ROLE_GROWTH > LINE_LENGTH
    ]
    assert too_long == []


PARTED = (
    "import os\n\n# >>> part:events\nimport events\n# <<< part:events\n\n\n"
    "def main() -> None:\n    os.getcwd()\n    # >>> part:gateway\n    gateway()\n"
    "    # <<< part:gateway\n\n\n# >>> part:tooling\ndef bench() -> None:\n    pass\n"
    "# <<< part:tooling\n"
)


@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        (frozenset(), PARTED),
        (
            frozenset({"events"}),
            PARTED.replace("# >>> part:events\nimport events\n# <<< part:events\n\n", ""),
        ),
        (
            frozenset({"gateway"}),
            PARTED.replace("    # >>> part:gateway\n    gateway()\n    # <<< part:gateway\n", ""),
        ),
        (
            frozenset({"tooling"}),
            PARTED.split("\n\n\n# >>> part:tooling")[0] + "\n",
        ),
    ],
)
def test_each_part_answered_no_loses_its_blocks_and_only_them(
    tmp_path: Path, removed: frozenset[str], expected: str
) -> None:
    write(tmp_path, {"main.py": PARTED})
    rename(tmp_path, **ANSWERS, removed=removed)
    assert (tmp_path / "main.py").read_text() == expected


def test_a_part_answered_no_loses_its_paths_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PARTS, "gateway", ("app/gateway", "tests/e2e/test_gateway*.py"))
    write(
        tmp_path,
        {
            "app/gateway/router.py": "x = 1\n",
            "tests/e2e/test_gateway.py": "x = 1\n",
            "tests/e2e/test_gateway_forwarding.py": "x = 1\n",
            "tests/e2e/test_contract.py": "x = 1\n",
        },
    )
    rename(tmp_path, **ANSWERS, removed=frozenset({"gateway"}))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.py")) == [
        "tests/e2e/test_contract.py"
    ]
    rename(tmp_path, **ANSWERS, removed=frozenset({"gateway"}))  # again: nothing left to delete


def test_removal_is_idempotent_and_blocks_in_markdown_and_sql_go_too(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docs/x.md": "# X\n\n<!-- >>> part:events -->\nEvents.\n"
            "<!-- <<< part:events -->\n\nEnd.\n",
            "docs/t.md": "| a | b |\n| x | `tools/bench` | <!-- part:tooling -->\n| y | z |\n",
            "init.sql": "CREATE TABLE a ();\n-- >>> part:events\nCREATE TABLE outbox ();\n"
            "-- <<< part:events\nCREATE TABLE b ();\n",
        },
    )
    rename(tmp_path, **ANSWERS, removed=frozenset({"events"}))
    assert (tmp_path / "docs/x.md").read_text() == "# X\n\nEnd.\n"
    assert (
        (tmp_path / "docs/t.md")
        .read_text()
        .endswith("| x | `tools/bench` | <!-- part:tooling -->\n| y | z |\n")
    )
    assert (tmp_path / "init.sql").read_text() == "CREATE TABLE a ();\nCREATE TABLE b ();\n"
    assert rename(tmp_path, **ANSWERS, removed=frozenset({"events"})) == []


@pytest.mark.parametrize(
    "text",
    [
        "a\n# >>> part:events\nb\n",  # never closed
        "a\n# <<< part:events\nb\n",  # never opened
        "# >>> part:events\n# >>> part:gateway\n# <<< part:events\n# <<< part:gateway\n",
        "# >>> part:evnets\n# <<< part:evnets\n",  # a part copier does not ask about
        "x = 1  # part:evnets\n",
    ],
)
def test_a_marker_without_its_pair_stops_the_run_before_anything_is_written(
    tmp_path: Path, text: str
) -> None:
    write(tmp_path, {"a.py": "x = 'fastapi-template'\n", "b.py": text})
    for removed in (frozenset(), frozenset({"events"})):
        with pytest.raises(MarkerError, match=r"b\.py:"):
            rename(tmp_path, **ANSWERS, removed=removed)
    assert (tmp_path / "a.py").read_text() == "x = 'fastapi-template'\n"


def test_every_part_marker_in_the_repository_has_its_pair() -> None:
    """What rename.py would refuse in a generated service, found here in a second."""
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    problems = []
    for relative in filter(None, tracked):
        path = ROOT / relative
        if (
            relative.startswith(("tools/template/", "tests/tooling/template/"))
            or not path.is_file()
        ):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if not PART_MARKER.search(text):
            continue
        for removed in (frozenset(), frozenset(PARTS)):
            try:
                without_parts(text, removed, relative)
            except MarkerError as error:
                problems.append(str(error))
    assert problems == []


def test_a_single_marked_line_goes_alone_and_leaves_no_double_blank_run(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.py": 'X = 1\n\n\nY = "check"  # part:gateway\n\n\ndef f() -> None:\n'
            "    call(\n        1,\n        2,  # part:events\n    )\n"
        },
    )
    rename(tmp_path, **ANSWERS, removed=frozenset({"gateway", "events"}))
    assert (tmp_path / "a.py").read_text() == (
        "X = 1\n\n\ndef f() -> None:\n    call(\n        1,\n    )\n"
    )


def test_the_dashboard_loses_the_panels_of_a_removed_part_only(tmp_path: Path) -> None:
    panels = [
        {"title": "Logins", "targets": [{"expr": "sum(rate(login_attempts_total{}[5m]))"}]},
        {"title": "Outbox", "targets": [{"expr": "max(outbox_backlog{})"}]},
    ]
    text = json.dumps({"panels": panels}, indent=2) + "\n"
    write(tmp_path, {"deploy/grafana/dashboard.json": text})
    assert rename(tmp_path, **ANSWERS, removed=frozenset({"gateway"})) == []
    rename(tmp_path, **ANSWERS, removed=frozenset({"events"}))
    kept = json.loads((tmp_path / "deploy/grafana/dashboard.json").read_text())["panels"]
    assert [panel["title"] for panel in kept] == ["Logins"]


def test_a_package_left_with_only_its_init_goes_with_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PARTS, "events", ("tools/downstream/names.py",))
    monkeypatch.setitem(PARTS, "gateway", ("tools/downstream/echo.py",))
    samples = {f"tools/downstream/{name}.py": "x = 1\n" for name in ("__init__", "names", "echo")}
    write(tmp_path, {**samples, "tools/__init__.py": ""})
    rename(tmp_path, **ANSWERS, removed=frozenset({"events"}))
    assert (tmp_path / "tools/downstream/echo.py").exists()
    rename(tmp_path, **ANSWERS, removed=frozenset({"events", "gateway"}))
    assert not (tmp_path / "tools/downstream").exists()
    rename(tmp_path, **ANSWERS, removed=frozenset({"events", "gateway"}))  # nothing left to do
    assert (tmp_path / "tools/__init__.py").exists()
