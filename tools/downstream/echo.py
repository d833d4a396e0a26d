"""A stand-in for another team's service behind the gateway (stdlib only).

It trusts the identity headers that nginx sets after `auth_request` and knows nothing about
sessions. Run: python -m tools.downstream.echo --port 9000
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from constants import REQUEST_ID_HEADER, USER_ID_HEADER, USERNAME_HEADER


class EchoHandler(BaseHTTPRequestHandler):
    server_version = "echo"

    def do_GET(self) -> None:
        username = self.headers.get(USERNAME_HEADER)
        body = json.dumps(
            {
                "service": "echo",
                "path": self.path,
                "user_id": self.headers.get(USER_ID_HEADER),
                "username": unquote(username) if username is not None else None,
                "request_id": self.headers.get(REQUEST_ID_HEADER),
                # The trace context nginx passed on (W3C), so a test can follow a trace here.
                "traceparent": self.headers.get("traceparent"),
                # Every header as received (repeats kept): what the gateway passed on.
                "headers": [[name.lower(), value] for name, value in self.headers.items()],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: nginx logs requests
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), EchoHandler).serve_forever()


if __name__ == "__main__":
    main()
