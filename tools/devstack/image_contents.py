"""`make docker-smoke`'s check that the images carry only what runs.

Lists the files under each built image's working directory (where the Dockerfile copies the
code) and fails on tooling: the API image must hold no tools/, tests/, docs/, results/, run/ or
dotenv files; the `echo` image (the sample downstream service, compose only) may hold
tools/downstream/ and nothing else of tools/.
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
ALLOWED_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "api": (),
    "echo": ECHO_ALLOWED,  # part:gateway
}
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
        # An empty listing means the check itself failed, not that the image is clean.
        found = tooling_in(files, ALLOWED_BY_SERVICE[service]) if files else ["(no files listed)"]
        for path in found:
            print(f"image {image} ({service}) carries tooling: {path}", flush=True)
        print(f"image {image} ({service}): {len(files)} files, {len(found)} of them tooling")
        status = status or (1 if found else 0)
    return status
