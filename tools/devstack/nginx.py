"""Renders the nginx.conf template and checks it with `nginx -t`.

Only `${UPPER_CASE}` names are template variables (nginx's own variables are lower case), and
every one of them must be given: a forgotten value fails here, not as a broken upstream later.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "nginx.conf"
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class TemplateError(ValueError):
    pass


def template_variables(text: str) -> set[str]:
    return set(_VARIABLE.findall(text))


def render(values: Mapping[str, str], template: Path = TEMPLATE) -> str:
    text = template.read_text()
    missing = template_variables(text) - values.keys()
    if missing:
        raise TemplateError(f"{template.name}: no value for {', '.join(sorted(missing))}")
    return _VARIABLE.sub(lambda m: values[m.group(1)], text)


def host_values(
    host: str,
    http_port: int,
    api_port: int,
    status_port: int = 8081,
    echo_port: int | None = None,  # part:gateway
    gateway_secret: str = "",  # part:gateway
) -> dict[str, str]:
    """Template values for nginx on the host (compose sets its own in compose.yaml)."""
    return {
        "HTTP_LISTEN": f"{host}:{http_port}",
        "API_UPSTREAM": f"{host}:{api_port}",
        "STATIC_ROOT": str(ROOT / "static"),
        # >>> part:gateway
        # No echo service: a closed port (discard), so /services/echo/ answers 502.
        "ECHO_UPSTREAM": f"{host}:{echo_port or 9}",
        "GATEWAY_SECRET": gateway_secret,
        # <<< part:gateway
        # nginx's stub_status, on loopback only.
        "STATUS_LISTEN": f"127.0.0.1:{status_port}",
    }


def nginx_binary() -> str:
    """NGINX_BIN, else PATH, else Debian's /usr/sbin (not on a non-root user's PATH)."""
    found = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        raise FileNotFoundError("nginx not found: apt-get install nginx, or set NGINX_BIN")
    return found


def write_config(prefix: Path, values: Mapping[str, str]) -> Path:
    """Render into `prefix/nginx.conf` and prepare the prefix folder for `nginx -p`."""
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render(values))
    return conf


def command(prefix: Path, conf: Path, *extra: str) -> list[str]:
    # `-e stderr`: the compiled-in error log path may not be writable before the config loads.
    paths = ["-p", f"{prefix.resolve()}/", "-c", str(conf.resolve())]
    return [nginx_binary(), *paths, "-e", "stderr", *extra]


def check(prefix: Path, conf: Path) -> str:
    """`nginx -t`; returns its output, raises with it when the config is invalid."""
    result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        command(prefix, conf, "-t"), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise TemplateError(f"nginx -t failed:\n{result.stderr}")
    return result.stderr


CHECK_ONLY = "check-only"  # part:gateway


def main() -> int:
    """`python -m tools.devstack.nginx --check DIR`: render with host values and `nginx -t`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--check", type=Path, required=True, metavar="DIR")
    prefix = parser.parse_args().check.resolve()
    values = host_values(
        "127.0.0.1",
        8080,
        8000,
        echo_port=9000,  # part:gateway
        gateway_secret=CHECK_ONLY,  # part:gateway
    )
    try:
        print(check(prefix, write_config(prefix, values)), end="")
    except TemplateError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
