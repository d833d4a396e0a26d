"""Container healthchecks: exit 0 when the URL (default: the API's /health/live) answers 200.
Slim images have no curl: `python -m utils.devstack.healthcheck [URL]`."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("API_PORT", "8000")
    url = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{port}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http URL)
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
