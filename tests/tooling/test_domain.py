"""`make domain NAME=...` (tools/domain): run in a copy of the repository, the new domain passes
ruff, mypy --strict, the import contracts, its own tests (as the app role, against the real
PostgreSQL and Redis) and the migration tests, with no edit. Names it cannot take are refused,
and nothing is written then."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.services import ROOT
from tools.domain import generate
from tools.domain.generate import Domain, main, singular_of

NAME = "line_items"  # an underscore and a plural to undo: LineItem, line_item_id
# What the generated service needs to lint and test itself.
TREE = ("app", "db", "tests", "tools", "utils", "docs/migrations-example")
FILES = ("main.py", "runserver.py", "constants.py", "version.py", "init.sql", "pyproject.toml")
DOCS = ("docs/architecture.md",)  # its code map gets the new package
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", "run")
BIN = Path(sys.executable).parent


def copy_of_the_repository(destination: Path) -> Path:
    for folder in TREE:
        shutil.copytree(ROOT / folder, destination / folder, ignore=SKIPPED)
    for name in (*FILES, *DOCS):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, destination / name)
    return destination


def run(tree: Path, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`command` in the copy, importing the copy's packages, never the checkout's."""
    leaking = {"PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"}
    return subprocess.run(
        command,
        cwd=tree,
        env={k: v for k, v in os.environ.items() if k not in leaking},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tree_state(tree: Path) -> dict[str, int]:
    return {str(p.relative_to(tree)): p.stat().st_mtime_ns for p in tree.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the repository after `python -m tools.domain line_items`, and what it printed."""
    tree = copy_of_the_repository(tmp_path_factory.mktemp("service"))
    if (ROOT / ".mypy_cache").is_dir():  # mypy then checks what changed only (~4 s, not ~25 s)
        shutil.copytree(ROOT / ".mypy_cache", tree / ".mypy_cache")
    result = run(tree, sys.executable, "-m", "tools.domain", NAME)
    assert result.returncode == 0, result.stdout + result.stderr
    return tree, result.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return copy_of_the_repository(tmp_path)


def test_it_writes_the_domain_and_says_what_to_edit_next(service: tuple[Path, str]) -> None:
    tree, printed = service
    migration = next((tree / "db" / "migrations").glob(f"*_create_{NAME}.sql"))
    created = [
        f"app/{NAME}/{module}.py"
        for module in ("__init__", "exceptions", "schemas", "service", "router")
    ]
    created += [f"tests/{NAME}/__init__.py", f"tests/{NAME}/test_router.py"]
    for path in [*created, "init.sql", "app/api/v1/__init__.py", "pyproject.toml"]:
        assert path in printed, path
    assert all((tree / path).is_file() for path in created)
    next_files = printed.split("files you edit next:")[1].strip().splitlines()[:5]
    assert [line.split()[1] for line in next_files] == [
        f"app/{NAME}/schemas.py",
        f"db/migrations/{migration.name}",
        f"app/{NAME}/service.py",
        f"tests/{NAME}/test_router.py",
        "readme.md",
    ]
    assert f"{NAME}.router" in (tree / "app/api/v1/__init__.py").read_text()
    layer = generate.FEATURE_LAYER.search((tree / "pyproject.toml").read_text())
    assert layer is not None
    assert layer["layer"].endswith(f" | app.{NAME}")  # after app.user, app.health and any before
    assert (
        migration.read_text().split("-- migrate:up")[1].split("-- migrate:down")[0].strip()
        in (tree / "init.sql").read_text()
    )


def test_ruff_finds_nothing_to_fix_or_format(service: tuple[Path, str]) -> None:
    tree, _ = service
    for command in (("check", "."), ("format", "--check", ".")):
        result = run(tree, str(BIN / "ruff"), *command)
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_new_modules(service: tuple[Path, str]) -> None:
    tree, _ = service
    targets = (f"app/{NAME}", f"tests/{NAME}", "app/api/v1/__init__.py")
    result = run(tree, sys.executable, "-m", "mypy", *targets)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_contracts_hold_with_the_new_feature(service: tuple[Path, str]) -> None:
    tree, _ = service
    result = run(tree, str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_its_tests_and_the_migration_tests_pass(service: tuple[Path, str]) -> None:
    tree, _ = service
    pytest_run = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    map_test = "tests/tooling/test_docs_paths.py::test_the_architecture_map_names_every_package"
    result = run(
        tree, *pytest_run, f"tests/{NAME}", "tests/db/test_migrations.py", map_test, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
    assert "failed" not in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Orders", "snake_case"),
        ("line-items", "snake_case"),
        ("2orders", "snake_case"),
        ("orders_", "snake_case"),
        ("line__items", "snake_case"),
        ("o" * 41, "at most 40 characters"),
        ("class", "Python keyword"),
        ("select", "SQL keyword"),
        ("user", "app/user exists already"),
        ("auth", "app/auth exists already"),
        ("users", "a table 'users' exists already"),
        ("outbox", "a table 'outbox' exists already"),  # part:events
        ("hello", "uses the name 'hello' already"),
        ("requests", "would shadow an import"),
    ],
)
def test_names_it_cannot_take_are_refused_and_nothing_is_written(
    tree: Path, capsys: pytest.CaptureFixture[str], name: str, reason: str
) -> None:
    before = tree_state(tree)
    assert main([name], root=tree) == 2
    error = capsys.readouterr().err
    assert "refused, nothing written" in error
    assert reason in error
    assert tree_state(tree) == before


def test_a_domain_made_once_is_refused_the_second_time(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gadgets"], root=tree) == 0
    before = tree_state(tree)
    assert main(["gadgets"], root=tree) == 2
    error = capsys.readouterr().err
    assert "app/gadgets exists already" in error
    assert "a table 'gadgets' exists already" in error
    assert tree_state(tree) == before


def test_an_edited_migration_is_copied_over_its_block_in_init_sql(tree: Path) -> None:
    assert main(["gadgets"], root=tree) == 0
    migration = next((tree / "db" / "migrations").glob("*_create_gadgets.sql"))
    edited = migration.read_text().replace(
        "    title       text        NOT NULL,\n",
        "    title       text        NOT NULL,\n    colour      text,\n",
    )
    migration.write_text(edited)
    init_before = (tree / "init.sql").read_text()
    assert main(["--init-sql", "gadgets"], root=tree) == 0
    init_after = (tree / "init.sql").read_text()
    assert "colour      text," in init_after
    assert init_after.count("CREATE TABLE IF NOT EXISTS gadgets") == 1
    assert init_after.split("-- >>> gadgets")[0] == init_before.split("-- >>> gadgets")[0]


def test_the_migration_comes_after_every_other_even_when_the_clock_is_behind(tree: Path) -> None:
    (tree / "db" / "migrations" / "29991231235959_future.sql").write_text("-- migrate:up\n")
    stamp = generate.migration_version(tree, datetime(2020, 1, 1, tzinfo=UTC))
    assert stamp == "30000101000000"


def test_a_name_of_the_longest_length_still_lints_clean(tree: Path) -> None:
    """Names end up in docstrings, SQL and test names: none of it may outgrow the line length."""
    name = "purchase_order_line_item_adjustment_xyzs"
    assert len(name) == generate.NAME_MAX
    assert main([name], root=tree) == 0
    result = run(tree, str(BIN / "ruff"), "check", f"app/{name}", f"tests/{name}")
    assert result.returncode == 0, result.stdout


def test_a_singular_that_is_a_keyword_is_fine_as_it_never_stands_alone(tree: Path) -> None:
    assert main(["classes"], root=tree) == 0
    assert "async def get_class(" in (tree / "app" / "classes" / "service.py").read_text()
    result = run(tree, str(BIN / "ruff"), "check", "app/classes", "tests/classes")
    assert result.returncode == 0, result.stdout


def test_singular_names_the_classes_when_the_guess_is_wrong(tree: Path) -> None:
    assert main(["people", "--singular", "person"], root=tree) == 0
    router = (tree / "app" / "people" / "router.py").read_text()
    assert "class PersonNotFound" in (tree / "app" / "people" / "exceptions.py").read_text()
    assert '@router.get("/{person_id}", response_model=Person' in router


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("orders", "order"),
        ("line_items", "line_item"),
        ("categories", "category"),
        ("addresses", "address"),
        ("boxes", "box"),
        ("batches", "batch"),
        ("wishes", "wish"),
        ("status", "status"),
        ("staff", "staff"),
        ("classes", "class"),
    ],
)
def test_the_singular_is_guessed_from_regular_endings(plural: str, singular: str) -> None:
    assert singular_of(plural) == singular


def test_no_model_class_can_shadow_a_name_the_generated_modules_bind() -> None:
    """TAKEN_CLASS_NAMES lists every capitalised name the templates import or define."""
    values = Domain(name="things", singular="thing").values("20990101000000_create_things.sql")
    bound: set[str] = set()
    for template in sorted(generate.TEMPLATES.glob("*.py.tmpl")):
        module = ast.parse(generate.render(template.name, values))
        for node in module.body:
            if isinstance(node, ast.ImportFrom | ast.Import):
                bound.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                bound.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                bound.update(t.id for t in targets if isinstance(t, ast.Name))
    capitalised = {name for name in bound if name[:1].isupper() and not name.isupper()}
    assert capitalised - {n for n in capitalised if n.startswith("Thing")} <= (
        generate.TAKEN_CLASS_NAMES
    )
