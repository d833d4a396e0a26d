"""`make check-deploy`'s check of the app settings the deployment files give the api: every name
is one the app reads (a misspelt `SMTP_PASS` would be ignored in silence), and the production
files give the mail settings (docs/accounts.md), the secret ones from the Secret on Kubernetes.

    python -m tools.devstack.deploy_settings .env.prod run/check-deploy/k8s-prod.yaml
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from app.core.settings import Settings

# Read by others than the app: gunicorn.py.ini / uvicorn (forwarded headers), the postgres
# container and the `migrate` one-shot (the owner's credentials).
NOT_THE_APPS = frozenset({"FORWARDED_ALLOW_IPS", "POSTGRES_PASSWORD", "DATABASE_OWNER_URL"})
MAIL = ("PUBLIC_BASE_URL", "MAIL_FROM", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY")
MAIL_LOGIN = ("SMTP_USERNAME", "SMTP_PASSWORD")


def known_names() -> frozenset[str]:
    return frozenset(name.upper() for name in Settings.model_fields) | NOT_THE_APPS


def unknown(names: Iterable[str]) -> list[str]:
    known = known_names()
    return sorted(name for name in names if name not in known)


def env_file_problems(path: Path) -> list[str]:
    names = [name for name in dotenv_values(path) if name]
    problems = [f"{path}: {name} is no setting the app reads" for name in unknown(names)]
    missing = [name for name in (*MAIL, *MAIL_LOGIN) if name not in names]
    problems += [f"{path}: no {name} (accounts' mail)" for name in missing]
    return problems


def api_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["metadata"]["name"] == "api":
            containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
            return next(c for c in containers if c["name"] == "api")
    raise LookupError("no Deployment api")


def kubernetes_problems(objects: list[dict[str, Any]], path: str = "k8s") -> list[str]:
    """The rendered prod overlay: app-config and the api's env name known settings, app-config
    has the mail settings and the api takes the SMTP login from the Secret."""
    config: dict[str, str] = next(
        obj["data"]
        for obj in objects
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].startswith("app-config")
    )
    env = {e["name"]: e for e in api_container(objects).get("env", [])}
    problems = [f"{path}: {name} is no setting the app reads" for name in unknown([*config, *env])]
    problems += [f"{path}: app-config has no {name}" for name in MAIL if name not in config]
    for name in MAIL_LOGIN:
        key = env.get(name, {}).get("valueFrom", {}).get("secretKeyRef", {}).get("key")
        if key != name:
            problems.append(f"{path}: the api does not take {name} from the Secret")
    return problems


def main(argv: list[str]) -> int:
    env_file, rendered = (Path(arg) for arg in argv)
    objects = [obj for obj in yaml.safe_load_all(rendered.read_text()) if obj]
    problems = env_file_problems(env_file) + kubernetes_problems(objects, str(rendered))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
