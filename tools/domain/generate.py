"""`make domain NAME=orders`: a new domain in one command. Each user's own rows of a new table,
created, listed, read, changed and deleted under /v1/NAME, with their tests.

For a plural snake_case NAME (`orders`, `line_items`) it writes

- `db/migrations/<UTC timestamp>_create_NAME.sql`, and the same statements at the end of
  `init.sql` (tests/db/test_migrations.py keeps the two equal);
- `app/NAME/{__init__,router,service,schemas,exceptions}.py`, in the style of app/user;
- `tests/NAME/{__init__,test_router}.py`;

and registers the router in `app/api/v1/__init__.py` and the package in the features' layer of
the import contracts (pyproject.toml). Before writing anything it refuses a name that is not
snake_case, is a Python or SQL keyword, or names a package, test folder or table that exists.

`--init-sql NAME` later copies the edited migration's up section over its copy in init.sql, so
a table made here is changed in one place until it ships. The files come from `templates/`:
`string.Template` with `${placeholder}` only, so SQL's `$1` stays text.
"""

from __future__ import annotations

import argparse
import ast
import keyword
import re
import shutil
import string
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"

NAME_RULE = re.compile(r"^[a-z][a-z0-9_]*$")
# PostgreSQL truncates identifiers at 63 bytes: `<name>_owner_id_id_idx` must stay whole.
NAME_MAX = 40
V1_PACKAGE = Path("app/api/v1/__init__.py")
PYPROJECT = Path("pyproject.toml")
ARCHITECTURE = Path("docs/architecture.md")
# The map's row of the feature every generated domain depends on; the new row goes after it.
MAP_ANCHOR = "| `app/auth/` |"
INIT_SQL = Path("init.sql")
MIGRATIONS = Path("db/migrations")
# The features' layer of the import contracts: the one that lists app.user.
FEATURE_LAYER = re.compile(
    r'^(?P<indent>[ \t]*)"(?P<layer>app\.user(?: \| app\.\w+)*)",[ \t]*$', re.MULTILINE
)

# Words PostgreSQL refuses as an unquoted table name: pg_get_keywords(), categories R and T.
RESERVED_SQL = """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user
    default deferrable desc distinct do else end except false fetch for foreign freeze from
    full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only or
    order outer overlaps placing primary references returning right select session_user
    similar some symmetric system_user table tablesample then to trailing true union unique
    user using variadic verbose when where window with
"""
SQL_KEYWORDS = frozenset(RESERVED_SQL.split())
# What the generated modules import or define: a model class of that name would shadow it.
TAKEN_CLASS_NAMES = frozenset(
    {
        "AfterValidator",
        "Annotated",
        "Any",
        "APIRouter",
        "AppError",
        "Auth",
        "BaseModel",
        "ConfigDict",
        "CurrentUser",
        "Field",
        "InvalidToken",
        "Path",
        "Pool",
        "PoolDep",
        "Query",
        "Request",
        "Response",
        "Title",
        "UserFactory",
    }
)

# (template, destination); destinations are formatted with the domain's words.
APP_FILES = (
    ("package_init.py.tmpl", "app/{name}/__init__.py"),
    ("exceptions.py.tmpl", "app/{name}/exceptions.py"),
    ("schemas.py.tmpl", "app/{name}/schemas.py"),
    ("service.py.tmpl", "app/{name}/service.py"),
    ("router.py.tmpl", "app/{name}/router.py"),
    ("tests_init.py.tmpl", "tests/{name}/__init__.py"),
    ("test_router.py.tmpl", "tests/{name}/test_router.py"),
)


class Refused(Exception):
    """The name cannot be used as given; nothing was written."""


class BracedTemplate(string.Template):
    """Only `${name}` is a placeholder: `$1` (SQL parameters) and any other `$` stay text."""

    # A string here: Template's __init_subclass__ compiles it (the stubs type the compiled one).
    pattern = r"\$(?:(?P<escaped>(?!))|(?P<named>(?!))|\{(?P<braced>[a-z_]+)\}|(?P<invalid>(?!)))"  # type: ignore[assignment]


def render(template: str, values: dict[str, str]) -> str:
    return BracedTemplate((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def singular_of(name: str) -> str:
    """The last word made singular by the regular English endings (orders -> order, categories
    -> category, addresses -> address, boxes -> box; status stays); `--singular` when that guess
    is wrong (people -> person, statuses -> status)."""
    head, _, last = name.rpartition("_")
    for plural, single in (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch")):
        if last.endswith(plural) and len(last) > len(plural):
            last = last[: -len(plural)] + single
            break
    else:
        if last.endswith("xes") and len(last) > 3:
            last = last[:-2]
        elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 1:
            last = last[:-1]
    return f"{head}_{last}" if head else last


@dataclass(frozen=True)
class Domain:
    name: str  # plural snake_case: the table, the package, the URL, the test folder
    singular: str  # one row: `Order`, `create_order`, `order_id`

    @property
    def class_name(self) -> str:
        return "".join(part.capitalize() for part in self.singular.split("_"))

    def values(self, migration: str) -> dict[str, str]:
        words = self.singular.replace("_", " ")
        return {
            "name": self.name,
            "singular": self.singular,
            "Singular": self.class_name,
            "words": self.name.replace("_", " "),
            "Words": self.name.replace("_", " ").capitalize(),
            "singular_words": words,
            "Singular_words": words.capitalize(),
            "migration": migration,
        }


def name_problems(name: str, what: str = "NAME", *, bare: bool = True) -> list[str]:
    """`bare`: the name stands alone in Python (the package and its import), so no keyword."""
    if not NAME_RULE.match(name) or "__" in name or name.endswith("_"):
        return [
            f"{what} {name!r}: lower-case snake_case, a letter first, then letters, digits and "
            "single underscores (e.g. orders, line_items)"
        ]
    problems = []
    if len(name) > NAME_MAX:
        problems.append(f"{what} {name!r}: at most {NAME_MAX} characters (PostgreSQL names)")
    if bare and keyword.iskeyword(name):
        problems.append(f"{what} {name!r} is a Python keyword")
    return problems


def existing_tables(root: Path) -> set[str]:
    """Tables that init.sql or a migration creates."""
    create = re.compile(r"(?i)\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?(?:public\.)?\"?(\w+)")
    sources = [root / INIT_SQL, *sorted((root / MIGRATIONS).glob("*.sql"))]
    texts = [path.read_text(encoding="utf-8") for path in sources if path.exists()]
    return {match.lower() for text in texts for match in create.findall(text)}


def v1_names(root: Path) -> set[str]:
    """Names bound at the top of app/api/v1/__init__.py, where the router is imported as NAME."""
    tree = ast.parse((root / V1_PACKAGE).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def v1_call(source: str) -> ast.Call:
    """The `api_version("v1", ...)` call the router joins."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "api_version"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "v1"
        ):
            return node
    raise Refused(f'{V1_PACKAGE} has no `api_version("v1", ...)` call to add the router to')


def check(root: Path, domain: Domain) -> None:
    """Every reason to refuse, at once; nothing is written before this passes."""
    problems = name_problems(domain.name)
    if domain.singular != domain.name:
        problems += name_problems(domain.singular, "singular", bare=False)  # create_class is fine
    if problems:
        raise Refused("\n".join(problems))
    name = domain.name
    if name in SQL_KEYWORDS:
        problems.append(f"{name!r} is an SQL keyword: the table would need quotes everywhere")
    for path in (Path("app") / name, Path("app") / f"{name}.py", Path("tests") / name):
        if (root / path).exists():
            problems.append(f"{path} exists already")
    if name in existing_tables(root):
        problems.append(f"a table {name!r} exists already (init.sql or db/migrations)")
    if list((root / MIGRATIONS).glob(f"*_create_{name}.sql")):
        problems.append(f"a migration *_create_{name}.sql exists already")
    if name in v1_names(root):
        problems.append(f"{V1_PACKAGE} uses the name {name!r} already")
    if domain.class_name in TAKEN_CLASS_NAMES:
        problems.append(
            f"the model class {domain.class_name!r} would shadow an import of the new modules: "
            "pass another --singular"
        )
    v1_call((root / V1_PACKAGE).read_text(encoding="utf-8"))
    if problems:
        raise Refused("\n".join(problems))


def migration_version(root: Path, now: datetime) -> str:
    """Now, in UTC, or one second after the newest migration when that is later (dbmate applies
    by version: a new table must come after the baseline that creates `users`)."""
    versions = [p.name.split("_", 1)[0] for p in (root / MIGRATIONS).glob("*.sql")]
    stamp = now.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    if versions:
        newest = datetime.strptime(max(versions), "%Y%m%d%H%M%S")
        stamp = max(stamp, newest + timedelta(seconds=1))
    return stamp.strftime("%Y%m%d%H%M%S")


def register_router(source: str, name: str) -> str:
    """`from app.NAME import router as NAME` and `NAME.router` last in `api_version("v1", ...)`."""
    call = v1_call(source)
    lines = source.splitlines(keepends=True)
    last = call.args[-1]
    end_line, end_column = last.end_lineno or last.lineno, last.end_col_offset or 0
    line = lines[end_line - 1]
    lines[end_line - 1] = f"{line[:end_column]},\n    {name}.router{line[end_column:]}"
    imports = [i for i, text in enumerate(lines) if text.startswith(("from ", "import "))]
    lines.insert(imports[-1] + 1, f"from app.{name} import router as {name}\n")
    return "".join(lines)  # ruff sorts the imports (format_python)


def add_to_feature_layer(pyproject: str, name: str) -> str | None:
    match = FEATURE_LAYER.search(pyproject)
    if match is None:
        return None
    line = f'{match["indent"]}"{match["layer"]} | app.{name}",'
    return pyproject[: match.start()] + line + pyproject[match.end() :]


def add_to_map(architecture: str, name: str) -> str | None:
    """A row for `app/NAME/` in docs/architecture.md's map, after the auth feature's."""
    lines = architecture.splitlines(keepends=True)
    anchors = [i for i, line in enumerate(lines) if line.startswith(MAP_ANCHOR)]
    if not anchors:
        return None
    what = f"`/v1/{name}`: owner-scoped CRUD (`make domain`)"
    row = f"| `app/{name}/` | {what} | `app/auth/`, platform |\n"
    lines.insert(anchors[0] + 1, row)
    return "".join(lines)


def up_section(migration: str) -> str:
    """The statements between `-- migrate:up` and `-- migrate:down`."""
    return migration.split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0].strip("\n")


def init_sql_block(name: str, migration_file: str, statements: str) -> str:
    source = f"-- The up section of db/migrations/{migration_file} (make domain-sql)."
    return f"-- >>> {name}\n{source}\n{statements}\n-- <<< {name}\n"


def mirror_in_init_sql(root: Path, name: str) -> Path:
    """Replace NAME's block of init.sql with the up section of its create migration."""
    migrations = sorted((root / MIGRATIONS).glob(f"*_create_{name}.sql"))
    text = (root / INIT_SQL).read_text(encoding="utf-8")
    block = re.compile(rf"(?ms)^-- >>> {re.escape(name)}\n.*?^-- <<< {re.escape(name)}\n")
    if len(migrations) != 1 or not block.search(text):
        raise Refused(
            f"no table of `make domain NAME={name}` to copy: init.sql needs its `-- >>> {name}` "
            f"block and db/migrations one *_create_{name}.sql"
        )
    statements = up_section(migrations[0].read_text(encoding="utf-8"))
    new = init_sql_block(name, migrations[0].name, statements)
    (root / INIT_SQL).write_text(block.sub(lambda _: new, text, count=1), encoding="utf-8")
    return migrations[0]


def format_python(root: Path, paths: Sequence[Path]) -> str | None:
    """ruff (this environment's): imports sorted, lines wrapped; None when it is not installed."""
    ruff = Path(sys.executable).with_name("ruff")
    binary = str(ruff) if ruff.exists() else shutil.which("ruff")
    if binary is None:
        return None
    targets = [str(p) for p in paths]
    for command in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        subprocess.run([binary, *command, *targets], cwd=root, check=True)  # noqa: S603
    return binary


@dataclass(frozen=True)
class Generated:
    created: list[Path]
    changed: dict[Path, str]  # path -> what changed in it
    notes: list[str]


def generate(root: Path, domain: Domain, now: datetime | None = None) -> Generated:
    check(root, domain)
    name = domain.name
    version = migration_version(root, now or datetime.now(UTC))
    migration = MIGRATIONS / f"{version}_create_{name}.sql"
    values = domain.values(migration.name)
    statements = render("table.sql.tmpl", values).strip("\n")
    created: list[Path] = [migration]
    (root / migration).write_text(
        render("migration.sql.tmpl", {**values, "statements": statements}), encoding="utf-8"
    )
    for template, destination in APP_FILES:
        path = Path(destination.format(name=name))
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(render(template, values), encoding="utf-8")
        created.append(path)

    changed: dict[Path, str] = {}
    notes: list[str] = []
    init_sql = (root / INIT_SQL).read_text(encoding="utf-8").rstrip("\n")
    block = init_sql_block(name, migration.name, statements)
    (root / INIT_SQL).write_text(f"{init_sql}\n\n{block}", encoding="utf-8")
    changed[INIT_SQL] = "the migration's statements, appended (a test keeps the two equal)"
    v1 = (root / V1_PACKAGE).read_text(encoding="utf-8")
    (root / V1_PACKAGE).write_text(register_router(v1, name), encoding="utf-8")
    changed[V1_PACKAGE] = f'{name}.router added to api_version("v1", ...)'
    pyproject = add_to_feature_layer((root / PYPROJECT).read_text(encoding="utf-8"), name)
    if pyproject is None:
        notes.append(f"add app.{name} to the features' layer of [tool.importlinter] by hand")
    else:
        (root / PYPROJECT).write_text(pyproject, encoding="utf-8")
        changed[PYPROJECT] = f"app.{name} in the features' layer of the import contracts"
    architecture = add_to_map((root / ARCHITECTURE).read_text(encoding="utf-8"), name)
    if architecture is None:
        notes.append(f"add app/{name}/ to the map in {ARCHITECTURE} by hand")
    else:
        (root / ARCHITECTURE).write_text(architecture, encoding="utf-8")
        changed[ARCHITECTURE] = f"a row for app/{name}/ in the code map"
    python = [p for p in [*created, V1_PACKAGE] if p.suffix == ".py"]
    if format_python(root, python) is None:
        notes.append("ruff not found: run `make fmt` before `make lint`")
    return Generated(created=created, changed=changed, notes=notes)


def next_steps(domain: Domain, migration: Path) -> list[tuple[str, str]]:
    """The files a person edits next (docs/api.md, "Adding a feature")."""
    name = domain.name
    return [
        (f"app/{name}/schemas.py", "the fields: strict, bounded request models and the response"),
        (str(migration), f"the columns and constraints; then `make domain-sql NAME={name}`"),
        (f"app/{name}/service.py", "the SQL: the new columns in each statement"),
        (f"tests/{name}/test_router.py", "the new fields' behaviour (the CRUD tests are there)"),
        ("readme.md", f"the contract table: the five routes of /v1/{name}"),
    ]


def report(domain: Domain, result: Generated) -> str:
    width = max(len(str(p)) for p in [*result.created, *result.changed]) + 2
    out = [f"make domain: /v1/{domain.name}, one row: {domain.class_name} (--singular to rename)"]
    out += ["created:", *(f"  {p}" for p in result.created), "changed:"]
    out += [f"  {p!s:<{width}}{what}" for p, what in result.changed.items()]
    out += [f"note: {note}" for note in result.notes]
    out.append("files you edit next:")
    steps = next_steps(domain, result.created[0])
    out += [f"  {i}. {path:<{width}}{what}" for i, (path, what) in enumerate(steps, start=1)]
    out.append("then: make migrate (your local database), make lint, make test")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="make domain", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("name", help="plural, snake_case: orders, line_items")
    parser.add_argument("--singular", help="one row's name when the guess is wrong (e.g. person)")
    parser.add_argument(
        "--init-sql",
        action="store_true",
        help="copy the edited create migration of NAME over its block in init.sql",
    )
    args = parser.parse_args(argv)
    try:
        if args.init_sql:
            migration = mirror_in_init_sql(root, args.name)
            print(f"init.sql: the {args.name} block now equals the up section of {migration.name}")
            return 0
        domain = Domain(name=args.name, singular=args.singular or singular_of(args.name))
        result = generate(root, domain)
    except Refused as refusal:
        print(f"make domain: refused, nothing written:\n{refusal}", file=sys.stderr)
        return 2
    print(report(domain, result))
    return 0
