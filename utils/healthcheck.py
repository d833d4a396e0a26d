"""Container healthchecks: exit 0 when the URL (default: the API's /health/live on port 8000,
where the image listens) answers 200. Slim images have no curl:
`python -m utils.healthcheck [URL]`."""

from __future__ import annotations

import sys
import urllib.request


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/health/live"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http URL)
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
