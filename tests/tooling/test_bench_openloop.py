"""The benchmark's open-loop generator against a real nginx (the fixed-body reference): it sends
the asked rate for the asked time and reads every answer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.bench import openloop
from tools.bench.references import FixedBodyNginx

RATE = 200.0
SECONDS = 1.0


@pytest.mark.e2e
def test_open_loop_sends_the_rate_and_reads_every_answer(tmp_path: Path) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed")
    with FixedBodyNginx(tmp_path / "nginx") as server:
        request = f"GET /v1/hello HTTP/1.1\r\nHost: {server.url[7:]}\r\n\r\n".encode()
        result = openloop.run(server.url, [request], rate=RATE, duration_s=SECONDS)
    assert result.sent == RATE * SECONDS
    assert result.ok == result.sent
    assert (result.shed, result.other_non_2xx, result.socket_errors) == (0, 0, 0)
    assert 0 < result.p50_ms <= result.p99_ms
    # Keep-alive: far fewer connections than requests.
    assert result.connections < result.sent / 4


def test_login_requests_carry_each_user_once(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("alice pw-1\nbob pw-2\n")
    requests = openloop.login_requests(users, "127.0.0.1:8080")
    assert len(requests) == 2
    head, body = requests[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /login HTTP/1.1\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert body == b'{"username": "alice", "password": "pw-1"}'
