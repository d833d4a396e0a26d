"""The docs name only paths that exist: the architecture map and every guide move with the
tree (a renamed module fails here instead of sending a reader to nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.services import ROOT

DOCS = sorted([ROOT / "readme.md", *(ROOT / "docs").glob("*.md")])
# A path of the repository in backticks: `app/http/errors.py`, `tests/auth/`, `main.py` (a
# `::test` suffix or a `:line` is dropped; globs and placeholders are not paths).
PATH = re.compile(
    r"`((?:app|utils|tools|tests|db|deploy|docker|docs|static)/[\w./-]*|[\w-]+\.py)(?:::[\w:]+)?`"
)


def named_paths(doc: Path) -> list[str]:
    return sorted(set(PATH.findall(doc.read_text(encoding="utf-8"))))


# What only the template has (copier leaves it out of a service): its docs may name it there.
TEMPLATE_ONLY = ("tools/template/", "tests/tooling/template/", "copier.yml")
IN_A_GENERATED_SERVICE = not (ROOT / "copier.yml").exists()
# new-service.md tells what each of copier's questions removes: a service made without a part
# (an answer `false` in .copier-answers.yml) keeps that table, paths of the removed part included.
ANSWERS = ROOT / ".copier-answers.yml"
WITHOUT_A_PART = ANSWERS.exists() and ": false" in ANSWERS.read_text(encoding="utf-8")
ABOUT_THE_PARTS = "new-service.md"


def exists(path: str) -> bool:
    """A bare file name (`echo.py`) exists when some file of the tree has that name; `tests/...`
    is an ellipsis, not a path."""
    if "..." in path or (IN_A_GENERATED_SERVICE and path.startswith(TEMPLATE_ONLY)):
        return True
    if "/" in path:
        return (ROOT / path).exists()
    return any(".venv" not in found.parts for found in ROOT.rglob(path))


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_path_a_doc_names_exists(doc: Path) -> None:
    if WITHOUT_A_PART and doc.name == ABOUT_THE_PARTS:
        pytest.skip("names the paths of the parts this service was made without")
    missing = [path for path in named_paths(doc) if not exists(path)]
    assert missing == [], f"{doc.name} names paths that do not exist"


def test_the_architecture_map_names_every_package() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in (ROOT / "app").glob("*/__init__.py"))
    assert [p for p in packages if f"`app/{p}/`" not in text] == []
