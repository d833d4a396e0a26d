"""Turns a copy of the template into a named service: copier's task after `copier copy`/`update`.

Every spelling of the template's name becomes the new one ("FastAPI service template" -> the
name, "fastapi-template" -> the slug), including uv.lock's entry for the project (uv accepts the
renamed lock as it is: `uv lock --check`); the database role `app_user` becomes `<slug>_app`.
Blocks between `>>> template-only` and `<<< template-only` marker lines are removed (the readme's
copier command, the Makefile's and CI's template check). pyproject.toml gets the description and
the author, LICENSE the author.

The optional parts (copier's questions `domain_events`, `gateway`, `perf_tooling`): a part
answered "no" loses its paths (PARTS) and every block between `>>> part:<name>` and
`<<< part:<name>` marker lines, in any text file (the markers sit in the file's comment syntax:
`#`, `--`, `<!-- -->`), and every single line that ends with such a comment, `part:<name>` (a
table row, a list entry). A part answered "yes" keeps its blocks and their marker lines, so the
service still shows what belongs to the part. A `>>> part:` line without its `<<< part:` (or the
reverse) stops the run: a half-removed part would leave a broken service.
Idempotent, so `copier update` can run it again over an already renamed service.

Runs on copier's own interpreter (any Python >= 3.9), stdlib only, and imports nothing from the
project: it is given the copy's directory, not the template's.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

TEMPLATE_NAME = re.compile(r"fastapi(.?)(?:service.?)?template", re.IGNORECASE)
# A block with the blank line before it, so no double blank line is left behind.
BLOCK = re.compile(
    r"(?:^\n)?^[^\n]*>>> template-only[^\n]*\n.*?^[^\n]*<<< template-only[^\n]*\n", re.M | re.S
)
# The application's database role: one per service, so services that share a PostgreSQL server
# never share (or reset the password of) each other's role.
APP_ROLE = re.compile(r"\bapp_user\b")
# The optional parts: the paths a part owns as a whole (deleted when it is answered "no").
PARTS: dict[str, tuple[str, ...]] = {
    "events": (
        "app/events",
        "docs/events.asyncapi.yaml",
        "db/migrations/20261130130000_outbox_traceparent.sql",
        "tests/events",
        "tests/events_helpers.py",
        "tools/downstream/names.py",
        "tools/devstack/brokers.py",
        "tools/chaos/events.py",
        "tools/bench/events.py",
        "tools/bench/events_consumer.py",
        "tests/tooling/test_bench_events.py",
    ),
    "gateway": (
        "app/gateway",
        "tools/downstream/echo.py",
        "deploy/k8s/base/echo.yaml",
        "tests/gateway",
        "tests/e2e/test_gateway.py",
        "tests/e2e/test_gateway_forwarding.py",
        "tests/e2e/test_gateway_unavailable.py",
    ),
    "tooling": (
        "tools/bench",
        "tools/chaos",
        "tools/capacity",
        "tests/tooling/test_bench_*.py",
        "tests/tooling/test_capacity.py",
        "tests/tooling/test_chaos.py",
        "tests/tooling/test_ast_lock.py",
        "tests/api/test_fuzz_api.py",
        "tests/events/test_chaos_events.py",
    ),
}
# JSON has no comments: a removed part's panels leave the Grafana dashboard by the metric names
# their queries use.
DASHBOARD = "deploy/grafana/dashboard.json"
DASHBOARD_METRICS = {"events": ("outbox_", "events_")}
# A marker line is a comment that starts with the marker: `# >>> part:events`,
# `-- <<< part:events`, `<!-- >>> part:events -->` (prose that names a marker is not one).
PART_MARKER = re.compile(r"^\s*(?:#|--|<!--|//)\s*(>>>|<<<) part:([a-z_]+)")
# One line of a part: a line that ends with such a comment (a table row, a list item, an entry).
PART_LINE = re.compile(r"(?:#|--|<!--|//)\s*part:([a-z_]+)\s*(?:-->)?\s*$")
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
# copier's answers file records the template's address (`_src_path`), which `copier update`
# needs as it is, even when it carries the template's name.
ANSWERS_FILE = ".copier-answers.yml"


def new_name(match: re.Match[str], name: str, slug: str) -> str:
    """The spelling follows the separator: words for prose, the slug for identifiers."""
    separator = match.group(1)
    if separator == " ":
        return name
    if separator == "_":
        return slug.replace("-", "_")
    return slug


def app_role(slug: str) -> str:
    return f"{slug.replace('-', '_')}_app"


class MarkerError(ValueError):
    """A part's marker line without its pair: the file is left as it was and the run fails."""


def _drop_blank_run(kept: list[str], following: str) -> None:
    """Where a removed block (or line) stood between blank lines, the blank lines before it go
    with it: the ones after it are the file's own spacing."""
    while following.strip() == "" and kept and kept[-1].strip() == "":
        kept.pop()


def without_parts(text: str, removed: frozenset[str], where: str = "") -> str:
    """`text` without the blocks and lines of the `removed` parts (marker lines included). A
    removed block followed by a blank line (or the end of the file) takes the blank lines before
    it along, so no longer run of blank lines is left where it was (Python's two, Markdown's
    one). Raises
    MarkerError on a marker without its pair, checked whether or not the part is removed."""
    if "part:" not in text:
        return text
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    opened: list[tuple[str, int]] = []  # (part, line number) of the open blocks, innermost last
    for number, line in enumerate(lines, start=1):
        marker = PART_MARKER.search(line)
        removing = any(part in removed for part, _ in opened)
        if marker is None:
            single = PART_LINE.search(line)
            if single and single.group(1) not in PARTS:
                raise MarkerError(f"{where}:{number}: unknown part {single.group(1)!r}")
            if removing:
                continue
            if single and single.group(1) in removed:
                _drop_blank_run(kept, lines[number] if number < len(lines) else "\n")
            else:
                kept.append(line)
            continue
        direction, part = marker.groups()
        if part not in PARTS:
            raise MarkerError(f"{where}:{number}: unknown part {part!r} (known: {sorted(PARTS)})")
        if direction == ">>>":
            opened.append((part, number))
            if not removing and part not in removed:
                kept.append(line)
            continue
        if not opened or opened[-1][0] != part:
            due = f"<<< part:{opened[-1][0]}" if opened else "no closing marker"
            raise MarkerError(f"{where}:{number}: <<< part:{part} where {due} was due")
        opened.pop()
        if not removing:
            kept.append(line)
        elif not any(open_part in removed for open_part, _ in opened):
            _drop_blank_run(kept, lines[number] if number < len(lines) else "\n")
    if opened:
        part, number = opened[-1]
        raise MarkerError(f"{where}:{number}: >>> part:{part} has no <<< part:{part}")
    return "".join(kept)


def without_panels(dashboard: str, removed: frozenset[str]) -> str:
    """The dashboard without the panels whose queries name a removed part's metrics; untouched
    (byte for byte) when nothing is removed."""
    prefixes = tuple(p for part in sorted(removed) for p in DASHBOARD_METRICS.get(part, ()))
    if not prefixes:
        return dashboard
    data = json.loads(dashboard)

    def of_removed_part(panel: dict[str, object]) -> bool:
        targets = panel.get("targets")
        exprs = [str(t.get("expr", "")) for t in targets] if isinstance(targets, list) else []
        return any(re.search(r"\b(?:" + "|".join(prefixes) + ")", e) for e in exprs)

    data["panels"] = [panel for panel in data["panels"] if not of_removed_part(panel)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def rename_text(text: str, name: str, slug: str) -> str:
    text = BLOCK.sub("", text)
    text = APP_ROLE.sub(app_role(slug), text)
    return TEMPLATE_NAME.sub(lambda match: new_name(match, name, slug), text)


def with_metadata(pyproject: str, description: str, author: str) -> str:
    """Sets `description` and `authors` in [project]; JSON strings are valid TOML strings."""
    pyproject = re.sub(
        r"^description = .*$",
        lambda _: f"description = {json.dumps(description)}",
        pyproject,
        count=1,
        flags=re.M,
    )
    authors = f"authors = [{{ name = {json.dumps(author)} }}]"
    if re.search(r"^authors = ", pyproject, flags=re.M):
        return re.sub(r"^authors = .*$", lambda _: authors, pyproject, count=1, flags=re.M)
    return re.sub(
        r"^(description = .*)$",
        lambda m: f"{m.group(1)}\n{authors}",
        pyproject,
        count=1,
        flags=re.M,
    )


def with_holder(license_text: str, author: str) -> str:
    return re.sub(
        r"^(Copyright \(c\) \d{4}) .*$",
        lambda m: f"{m.group(1)} {author}",
        license_text,
        count=1,
        flags=re.M,
    )


def with_description(readme: str, description: str) -> str:
    """The description stands under the title, where the template's copier command was."""
    if description in readme:
        return readme
    return re.sub(
        r"\A(# [^\n]*\n)\n+", lambda m: f"{m.group(1)}\n{description}\n\n", readme, count=1
    )


def text_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not SKIPPED_DIRS.intersection(relative.parts):
            if relative.as_posix() == ANSWERS_FILE:
                continue
            files.append(path)
    return files


def remove_part_paths(root: Path, removed: frozenset[str]) -> list[Path]:
    """Deletes the paths (files, directories, globs) of the removed parts; returns them."""
    deleted = []
    for part in sorted(removed):
        for pattern in PARTS[part]:
            for path in sorted(root.glob(pattern), reverse=True):
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
                deleted.append(path)
    # A package whose modules all belonged to removed parts goes too (tools/downstream/ without
    # the events' and the gateway's samples).
    for package in sorted({path.parent for path in deleted}, reverse=True):
        if package == root or not package.is_dir():
            continue
        if {p.name for p in package.iterdir()} <= {"__init__.py", "__pycache__"}:
            shutil.rmtree(package)
            deleted.append(package)
    return deleted


def rename(
    root: Path,
    name: str,
    slug: str,
    description: str,
    author: str,
    *,
    removed: frozenset[str] = frozenset(),
) -> list[Path]:
    """Renames the copy under `root` in place and removes the `removed` parts; returns the files
    it changed or deleted. Every file's markers are checked before anything is written."""
    unknown = removed - PARTS.keys()
    if unknown:
        raise MarkerError(f"unknown parts {sorted(unknown)} (known: {sorted(PARTS)})")
    changed = remove_part_paths(root, removed)
    updates = []
    for path in text_files(root):
        try:
            before = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (images, fonts): the template's names are not in them
        relative = path.relative_to(root).as_posix()
        after = without_parts(before, removed, relative)
        if relative == DASHBOARD:
            after = without_panels(after, removed)
        after = rename_text(after, name, slug)
        if relative == "pyproject.toml":
            after = with_metadata(after, description, author)
        elif relative == "LICENSE":
            after = with_holder(after, author)
        elif relative == "readme.md":
            after = with_description(after, description)
        if after != before:
            updates.append((path, after))
    for path, after in updates:
        path.write_text(after, encoding="utf-8")
        changed.append(path)
    return changed


def answer(value: str) -> bool:
    """copier renders a boolean answer as True/False; people write yes/no."""
    if value.lower() in {"true", "yes", "y", "1"}:
        return True
    if value.lower() in {"false", "no", "n", "0"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help='as people write it, e.g. "Orders Service"')
    parser.add_argument("--slug", required=True, help="e.g. orders-service")
    parser.add_argument("--description", required=True)
    parser.add_argument("--author", required=True)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the copy (default: .)")
    for part in PARTS:
        parser.add_argument(
            f"--{part}", type=answer, default=True, help=f"keep the {part} part (default: true)"
        )
    args = parser.parse_args(argv)
    removed = frozenset(part for part in PARTS if not getattr(args, part))
    try:
        changed = rename(
            args.root, args.name, args.slug, args.description, args.author, removed=removed
        )
    except MarkerError as error:
        parser.exit(1, f"rename.py: {error}\n")
    without = f" without {', '.join(sorted(removed))}" if removed else ""
    print(f"{args.slug}{without}: renamed the template's names in {len(changed)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
