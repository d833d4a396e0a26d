"""`make template-check`: make services with copier and prove each is a working, renamed project.

Generates "Orders Service" from this checkout (`--vcs-ref HEAD`: the last commit, plus the
uncommitted changes copier takes from a local HEAD, never an older tag) once per variant of the
optional parts (VARIANTS: all on, all off, events without the gateway and the tooling, and
the gateway and the tooling without events).
In each it fails if any spelling of the template's name or any trace of a removed part is
left, runs `make domain NAME=orders` (a domain of its own, as its team's first step), adds a
migration with a table of its own (and its mirror in init.sql), then runs its `make lint` and
`make test`. Then `copier update` in other generated services
(tests/tooling/template/template_update_check.py), one of which removes the gateway. A
generated directory is removed on success and kept (its path printed) on failure. Each step's
time is printed, for the CI budget.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The spellings the template's name takes (`grep -rniE` over the repository finds the same).
TEMPLATE_NAME = re.compile(r"fastapi.?(service.?)?template", re.IGNORECASE)
UPDATE_CHECK = "tests/tooling/template/template_update_check.py"
# copier's questions for the optional parts (copier.yml), by rename.py's name of the part.
QUESTIONS = {"events": "domain_events", "gateway": "gateway", "tooling": "perf_tooling"}
# The services make template-check builds and tests: which parts each keeps.
VARIANTS: dict[str, frozenset[str]] = {
    "all-on": frozenset(QUESTIONS),
    "all-off": frozenset(),
    "events-only": frozenset({"events"}),
    "no-events": frozenset({"gateway", "tooling"}),
}
# What a removed part must not leave in the service's code, SQL and configuration (the docs
# may still say what the template offers): a pattern per part, searched line by line.
PART_TRACES = {
    "events": re.compile(
        r"\bapp[./]events\b|\bINSERT INTO outbox\b|\bTABLE (IF NOT EXISTS )?outbox\b|"
        r"\bON outbox\b|\boutbox_notify\b|\bevents_broker|\bEVENTS_BROKER|"
        r"tools[./]downstream[./]names"
    ),
    "gateway": re.compile(
        r"\bapp[./]gateway\b|tools[./]downstream[./]echo|\bgateway_secret\b|"
        r"\bGATEWAY_SECRET\b|/auth/verify|/services/echo"
    ),
    "tooling": re.compile(r"\btools[./](bench|chaos|capacity)\b"),
}
# Files whose text is not the service's code or configuration.
NOT_CODE = (".md", ".svg", ".copier-answers.yml")
# The service's first domain (tools/domain): its lint and tests run with the rest.
DOMAIN = "orders"
SKIPPED_DIRS = {".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}


def generate(
    destination: Path,
    project_name: str = "Orders Service",
    source: Path | str = ROOT,
    vcs_ref: str | None = "HEAD",
    parts: frozenset[str] = frozenset(QUESTIONS),
) -> None:
    """`copier copy --trust --defaults` of this checkout (or another clone of the template, or a
    git URL) with the optional `parts` (all by default); `vcs_ref=None` takes copier's default,
    the newest release tag."""
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    command += ["--vcs-ref", vcs_ref] if vcs_ref else []
    command += [f"--data=project_name={project_name}"]
    command += [
        f"--data={question}={str(part in parts).lower()}" for part, question in QUESTIONS.items()
    ]
    subprocess.run([*command, str(source), str(destination)], check=True)  # noqa: S603


def is_template_location(relative: Path, line: str) -> bool:
    """The answers file records where the template lives (for `copier update`): its URL or path
    may well carry the template's name, and is not a name of the service."""
    return relative.as_posix() == ".copier-answers.yml" and line.startswith("_src_path: ")


def service_paths(root: Path) -> Iterator[tuple[Path, Path]]:
    """Every path of the generated service (outside SKIPPED_DIRS), with its relative form."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not SKIPPED_DIRS.intersection(relative.parts):
            yield path, relative


def text_lines(path: Path) -> list[str]:
    """A text file's lines; none for a directory or a binary file."""
    if not path.is_file():
        return []
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return []


def template_traces(root: Path) -> list[str]:
    """Every place the template's name is left in: `path:line: text`, or a file's own name."""
    traces = []
    for path, relative in service_paths(root):
        if TEMPLATE_NAME.search(path.name) or path.name.endswith(".egg-info"):
            traces.append(f"{relative}: the file's name")
        lines = text_lines(path)
        traces += [
            f"{relative}:{number}: {line.strip()}"
            for number, line in enumerate(lines, start=1)
            if TEMPLATE_NAME.search(line) and not is_template_location(relative, line)
        ]
    return traces


def part_traces(root: Path, parts: frozenset[str]) -> list[str]:
    """Every line of code, SQL or configuration that still names a part the service lacks."""
    patterns = [(part, PART_TRACES[part]) for part in sorted(set(QUESTIONS) - parts)]
    traces = []
    for path, relative in service_paths(root):
        if path.name.endswith(NOT_CODE):
            continue
        lines = text_lines(path)
        traces += [
            f"{relative}:{number}: {part}: {line.strip()}"
            for number, line in enumerate(lines, start=1)
            for part, pattern in patterns
            if pattern.search(line)
        ]
    return traces


# A table of the service's own, as a team adds one (docs/migrations.md, "Writing a migration").
MIGRATION_UP = """CREATE TABLE bookmarks (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body     text   NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON bookmarks TO {role};
"""


def add_migration(service: Path) -> int:
    """`make migration NAME=create_bookmarks`, its SQL, and the same table in init.sql."""
    status = run_step(service, ["make", "migration", "NAME=create_bookmarks"])
    migrations = service / "db" / "migrations"
    created = sorted(migrations.glob("*_create_bookmarks.sql"))
    if status != 0 or len(created) != 1:
        print(f"make migration made {[p.name for p in created]}", flush=True)
        return status or 1
    # dbmate names a migration by the second: `make domain` may have taken the same one.
    version = created[0].name.split("_", 1)[0]
    if [p for p in migrations.glob(f"{version}_*.sql") if p != created[0]]:
        latest = max(int(p.name.split("_", 1)[0]) for p in migrations.glob("*.sql"))
        created[0] = created[0].rename(migrations / f"{latest + 1}_create_bookmarks.sql")
    role = re.search(r"GRANT USAGE ON SCHEMA public TO (\w+);", (service / "init.sql").read_text())
    if role is None:
        print("init.sql grants the schema to no role", flush=True)
        return 1
    up = MIGRATION_UP.format(role=role.group(1))
    created[0].write_text(f"-- migrate:up\n{up}\n-- migrate:down\nDROP TABLE bookmarks;\n")
    mirror = up.replace("TABLE bookmarks", "TABLE IF NOT EXISTS bookmarks", 1)
    with (service / "init.sql").open("a") as init_sql:
        init_sql.write(f"\n-- bookmarks (the service's own)\n{mirror}")
    return 0


def run_step(service: Path, step: list[str]) -> int:
    print(f"==> {service}: {' '.join(step)}", flush=True)
    return subprocess.run(  # noqa: S603
        step, cwd=service, env=project_environment(), check=False
    ).returncode


def project_environment() -> dict[str, str]:
    """This process's environment without the template's virtualenv (the service has its own)."""
    return {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }


def check_variant(name: str, parts: frozenset[str], domain: str, targets: list[str]) -> int:
    """Generates the variant's service and runs every step; 0 when all pass."""
    parent = Path(tempfile.mkdtemp(prefix=f"template-check-{name}-"))
    parent.chmod(0o755)  # nginx's workers (another user) read the service's static files
    destination = parent / "orders-service"
    started = time.monotonic()
    generate(destination, parts=parts)
    traces = template_traces(destination)
    for trace in traces:
        print(f"template name left: {trace}")
    left = part_traces(destination, parts)
    for trace in left:
        print(f"removed part left: {trace}")
    status = 1 if traces or left else 0
    steps = [["make", "domain", f"NAME={domain}"]] if domain else []
    for step in [*steps, ["migration"], *(["make", target] for target in targets)]:
        if status == 0:
            step_started = time.monotonic()
            if step == ["migration"]:
                status = add_migration(destination)
            else:
                status = run_step(destination, step)
            print(
                f"--- {name}: {' '.join(step)}: {time.monotonic() - step_started:.0f} s", flush=True
            )
    minutes = (time.monotonic() - started) / 60
    if status == 0:
        shutil.rmtree(parent)
        kept = ", ".join(sorted(parts)) or "no optional part"
        print(f"==> {name} ({kept}): passed, {minutes:.1f} min")
    else:
        print(f"==> {name} FAILED after {minutes:.1f} min; the service is kept in {destination}")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="lint test", help="make targets to run in the service")
    parser.add_argument(
        "--domain", default=DOMAIN, help="`make domain NAME=...` before the targets ('' for none)"
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, of {', '.join(VARIANTS)} (default: all)",
    )
    parser.add_argument("--no-update-check", action="store_true", help=f"skip {UPDATE_CHECK}")
    args = parser.parse_args(argv)
    unknown = set(args.variants.split(",")) - VARIANTS.keys()
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}")
    failed = []
    for name in args.variants.split(","):
        if check_variant(name, VARIANTS[name], args.domain, args.targets.split()) != 0:
            failed.append(name)
    if not failed and not args.no_update_check:
        print(f"==> copier update in generated services ({UPDATE_CHECK})", flush=True)
        started = time.monotonic()
        update_check = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        update_check.append(UPDATE_CHECK)
        if subprocess.run(update_check, cwd=ROOT, check=False).returncode != 0:  # noqa: S603
            failed.append("copier update")
        print(f"--- copier update: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"template-check FAILED: {', '.join(failed)}")
        return 1
    print(
        "template-check: no template name or removed part left; make domain, a migration, lint,"
        " tests and copier update pass"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
