"""`make template-check`: make a service with copier and prove it is a working, renamed project.

Generates "Orders Service" from this checkout (`--vcs-ref HEAD`: the last commit, plus the
uncommitted changes copier takes from a local HEAD, never an older tag), then fails if any
spelling of the template's name is left, runs `make domain NAME=orders` in the new service (a
domain of its own, as its team's first step) and then its `make lint` and `make test`, and then
`copier update` in another generated service
(tests/tooling/template/template_update_check.py). The generated directory is removed on
success and kept (its path printed) on failure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The spellings the template's name takes (`grep -rniE` over the repository finds the same).
TEMPLATE_NAME = re.compile(r"fastapi.?(service.?)?template", re.IGNORECASE)
UPDATE_CHECK = "tests/tooling/template/template_update_check.py"
UPDATE_CHECK = "tests/tooling/template/template_update_check.py"
# The service's first domain (tools/domain): its lint and tests run with the rest.
DOMAIN = "orders"
SKIPPED_DIRS = {".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}


def generate(
    destination: Path,
    project_name: str = "Orders Service",
    source: Path | str = ROOT,
    vcs_ref: str | None = "HEAD",
) -> None:
    """`copier copy --trust --defaults` of this checkout (or another clone of the template, or a
    git URL); `vcs_ref=None` takes copier's default, the newest release tag."""
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    command += ["--vcs-ref", vcs_ref] if vcs_ref else []
    command += [f"--data=project_name={project_name}"]
    subprocess.run([*command, str(source), str(destination)], check=True)  # noqa: S603


def is_template_location(relative: Path, line: str) -> bool:
    """The answers file records where the template lives (for `copier update`): its URL or path
    may well carry the template's name, and is not a name of the service."""
    return relative.as_posix() == ".copier-answers.yml" and line.startswith("_src_path: ")


def template_traces(root: Path) -> list[str]:
    """Every place the template's name is left in: `path:line: text`, or a file's own name."""
    traces = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if SKIPPED_DIRS.intersection(relative.parts):
            continue
        if TEMPLATE_NAME.search(path.name) or path.name.endswith(".egg-info"):
            traces.append(f"{relative}: the file's name")
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        traces += [
            f"{relative}:{number}: {line.strip()}"
            for number, line in enumerate(lines, start=1)
            if TEMPLATE_NAME.search(line) and not is_template_location(relative, line)
        ]
    return traces


def project_environment() -> dict[str, str]:
    """This process's environment without the template's virtualenv (the service has its own)."""
    return {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="lint test", help="make targets to run in the service")
    parser.add_argument(
        "--domain", default=DOMAIN, help="`make domain NAME=...` before the targets ('' for none)"
    )
    args = parser.parse_args(argv)
    parent = Path(tempfile.mkdtemp(prefix="template-check-"))
    parent.chmod(0o755)  # nginx's workers (another user) read the service's static files
    destination = parent / "orders-service"
    generate(destination)
    traces = template_traces(destination)
    for trace in traces:
        print(f"template name left: {trace}")
    status = 1 if traces else 0
    steps = [["make", "domain", f"NAME={args.domain}"]] if args.domain else []
    steps += [["make", target] for target in args.targets.split()]
    for step in steps:
        if status == 0:
            print(f"==> {destination}: {' '.join(step)}", flush=True)
            status = subprocess.run(  # noqa: S603
                step,
                cwd=destination,
                env=project_environment(),
                check=False,
            ).returncode
    if status == 0:
        print(f"==> copier update in a generated service ({UPDATE_CHECK})", flush=True)
        update_check = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        update_check.append(UPDATE_CHECK)
        status = subprocess.run(update_check, cwd=ROOT, check=False).returncode  # noqa: S603
    if status == 0:
        shutil.rmtree(destination.parent)
        print(
            "template-check: no template name left; make domain, lint, tests and copier update pass"
        )
    else:
        print(f"template-check FAILED; the generated service is kept in {destination}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
