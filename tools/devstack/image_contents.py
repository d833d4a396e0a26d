"""`make docker-smoke`'s check that the images carry only what runs.

Lists the files under each built image's working directory (where the Dockerfile copies the
code) and fails on tooling: the API image must hold no tools/, tests/, docs/, results/, run/ or
dotenv files; the `echo` image (the sample downstream service, compose only) may hold
tools/downstream/ and nothing else of tools/; the `mail` image (the dev stack's SMTP catcher,
the Dockerfile's `mail-catcher` target) holds the catcher's modules and nothing else, not even
the app.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence

TOOLING = ("tools", "tests", "docs", "results", "run")
# >>> part:gateway
# The echo target is the runtime image plus the sample service: that much of tools/ is allowed.
ECHO_ALLOWED = ("tools/__init__.py", "tools/downstream/")
# <<< part:gateway
# The mail catcher's image is these files alone (tools/devstack/mail_catcher.py and what it
# imports): anything else in it, tooling or app code, is a finding.
MAIL_CATCHER_FILES = (
    "tools/__init__.py",
    "tools/devstack/__init__.py",
    "tools/devstack/mail_catcher.py",
    "tools/devstack/processes.py",
)
ALLOWED_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "api": (),
    "echo": ECHO_ALLOWED,  # part:gateway
    "mail": MAIL_CATCHER_FILES,
}
# Services whose image may hold nothing but their allowed files.
ONLY_ALLOWED = frozenset({"mail"})
LIST_FILES = (
    "import os\nfor d, _, fs in os.walk('.'):\n    for f in fs: print(os.path.join(d, f)[2:])"
)


def tooling_in(files: Iterable[str], allowed: Sequence[str] = ()) -> list[str]:
    """The files (paths relative to the working directory) that are tooling and not allowed."""
    found = []
    for path in files:
        top = path.split("/", 1)[0]
        is_tooling = top in TOOLING or top.startswith(".env")
        if is_tooling and not any(path.startswith(prefix) for prefix in allowed):
            found.append(path)
    return sorted(found)


def beyond(files: Iterable[str], allowed: Sequence[str]) -> list[str]:
    """The files that are none of `allowed` (an image that should hold those alone)."""
    return sorted(path for path in files if path not in allowed)


def findings(service: str, files: Sequence[str]) -> list[str]:
    """What `service`'s image must not carry; an empty listing means the check itself failed,
    not that the image is clean."""
    if not files:
        return ["(no files listed)"]
    allowed = ALLOWED_BY_SERVICE[service]
    return beyond(files, allowed) if service in ONLY_ALLOWED else tooling_in(files, allowed)


def image_files(image: str) -> list[str]:
    """Every file under `image`'s working directory, listed by the image's own Python."""
    command = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python"]
    result = subprocess.run(  # noqa: S603
        [*command, image, "-c", LIST_FILES], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def service_images(compose: Sequence[str]) -> dict[str, str]:
    """The image each of the checked services runs, from the merged compose configuration."""
    result = subprocess.run(  # noqa: S603
        [*compose, "config", "--format", "json"], capture_output=True, text=True, check=True
    )
    services = json.loads(result.stdout)["services"]
    return {name: services[name]["image"] for name in ALLOWED_BY_SERVICE if name in services}


def check_images(compose: Sequence[str]) -> int:
    """0 when no built image carries tooling; otherwise prints each file found and returns 1."""
    status = 0
    for service, image in service_images(compose).items():
        files = image_files(image)
        found = findings(service, files)
        for path in found:
            print(f"image {image} ({service}) carries what it must not: {path}", flush=True)
        print(f"image {image} ({service}): {len(files)} files, {len(found)} of them not allowed")
        status = status or (1 if found else 0)
    return status
