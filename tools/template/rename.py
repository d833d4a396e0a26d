"""Turns a copy of the template into a named service: copier's task after `copier copy`/`update`.

Every spelling of the template's name becomes the new one ("FastAPI service template" -> the
name, "fastapi-template" -> the slug), including uv.lock's entry for the project (uv accepts the
renamed lock as it is: `uv lock --check`); the database role `app_user` becomes `<slug>_app`.
Blocks between `>>> template-only` and `<<< template-only` marker lines are removed (the readme's
copier command, the Makefile's and CI's template check). pyproject.toml gets the description and
the author, LICENSE the author.
Idempotent, so `copier update` can run it again over an already renamed service.

Runs on copier's own interpreter (any Python >= 3.9), stdlib only, and imports nothing from the
project: it is given the copy's directory, not the template's.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

TEMPLATE_NAME = re.compile(r"fastapi(.?)(?:service.?)?template", re.IGNORECASE)
# A block with the blank line before it, so no double blank line is left behind.
BLOCK = re.compile(
    r"(?:^\n)?^[^\n]*>>> template-only[^\n]*\n.*?^[^\n]*<<< template-only[^\n]*\n", re.M | re.S
)
# The application's database role: one per service, so services that share a PostgreSQL server
# never share (or reset the password of) each other's role.
APP_ROLE = re.compile(r"\bapp_user\b")
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


def rename(root: Path, name: str, slug: str, description: str, author: str) -> list[Path]:
    """Renames the copy under `root` in place; returns the files it changed."""
    changed = []
    for path in text_files(root):
        try:
            before = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (images, fonts): the template's names are not in them
        after = rename_text(before, name, slug)
        relative = path.relative_to(root).as_posix()
        if relative == "pyproject.toml":
            after = with_metadata(after, description, author)
        elif relative == "LICENSE":
            after = with_holder(after, author)
        elif relative == "readme.md":
            after = with_description(after, description)
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help='as people write it, e.g. "Orders Service"')
    parser.add_argument("--slug", required=True, help="e.g. orders-service")
    parser.add_argument("--description", required=True)
    parser.add_argument("--author", required=True)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the copy (default: .)")
    args = parser.parse_args(argv)
    changed = rename(args.root, args.name, args.slug, args.description, args.author)
    print(f"{args.slug}: renamed the template's names in {len(changed)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
