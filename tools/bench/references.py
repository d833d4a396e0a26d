"""The reference servers of a run: nginx answering a fixed body itself (the ceiling of anything
behind nginx), the naive FastAPI app under gunicorn (what FastAPI itself costs, `naive_app.py`),
and the app under plain `uvicorn main:app` with default settings."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from tools.bench.procs import free_port, wait_http
from tools.devstack.processes import children

ROOT = Path(__file__).resolve().parents[2]
FIXED_BODY = '{"version":"v1","message":"Hello, world!"}'

FIXED_NGINX_CONF = """\
# Rendered by tools/bench: nginx answering a fixed JSON body, the ceiling for the stack's nginx.
worker_processes auto;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


class Server:
    """A child process serving HTTP on 127.0.0.1:port; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = (self.run_dir / "output.log").open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            self.command(),
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_http(f"{self.url}/v1/hello", alive=self.proc)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FixedBodyNginx(Server):
    def command(self) -> list[str]:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.run_dir / "nginx.conf"
        conf.write_text(FIXED_NGINX_CONF.format(run=self.run_dir, port=self.port, body=FIXED_BODY))
        return [
            nginx,
            "-e",
            str(self.run_dir / "error.log"),
            "-p",
            str(self.run_dir),
            "-c",
            str(conf),
            "-g",
            "daemon off;",
        ]


class PlainUvicorn(Server):
    """`uvicorn main:app` with uvicorn's defaults (one process, access log as configured by the
    app's defaults); only the address and the scratch services are set."""

    def __init__(self, run_dir: Path, env: dict[str, str]) -> None:
        super().__init__(run_dir)
        self.env = env

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    def environment(self) -> dict[str, str]:
        # uvicorn reads UVICORN_* options from the environment: none may leak into "defaults".
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("UVICORN_")}
        return {**inherited, **self.env}


class NaiveGunicorn(Server):
    """`gunicorn -w 2 -k uvicorn_worker.UvicornWorker` serving tools/bench/naive_app.py: no
    config file, gunicorn's and uvicorn's defaults (uvloop, httptools, access log off because
    gunicorn's is off unless asked for). Its /getName reads the run's Redis index."""

    WORKERS = 2

    def __init__(self, run_dir: Path, redis_url: str) -> None:
        super().__init__(run_dir)
        self.redis_url = redis_url  # its /getName reads the seeded naive:session:<token> hashes

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(self.WORKERS),
            "-k",
            "uvicorn_worker.UvicornWorker",
            "--bind",
            f"127.0.0.1:{self.port}",
            # gunicorn >= 25 opens a control socket in $HOME; several runs would share it.
            "--no-control-socket",
            "tools.bench.naive_app:app",
        ]

    def environment(self) -> dict[str, str]:
        # Nothing of the stack's tuning may leak into the reference.
        skip = ("UVICORN_", "GUNICORN_", "WEB_CONCURRENCY")
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        return {**inherited, "NAIVE_REDIS_URL": self.redis_url}

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []
