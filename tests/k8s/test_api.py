"""The API Deployment as rendered for each overlay: gunicorn as the image's user, the health
probes, resources that match the worker count gunicorn derives, and the autoscaler and disruption
budget around it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.settings import Settings
from tests.k8s.manifests import Object, container, find
from utils.cpus import cgroup_cpu_limit

# docs/benchmark.md: peak worker RSS under a login storm 121 MB; the master and headroom 128 MiB.
MIB_PER_WORKER = 192
MIB_BASE = 128


def _mib(quantity: str) -> int:
    assert quantity.endswith("Mi"), quantity
    return int(quantity[:-2])


def test_api_runs_gunicorn_as_the_image_user(objects: list[Object]) -> None:
    pod = find(objects, "Deployment", "api")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's `app` user
    assert pod["containers"][0]["command"] == ["gunicorn", "-c", "gunicorn.py.ini", "main:app"]
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert "/tmp" in mounts  # noqa: S108 (the only writable folder besides /dev/shm)


def test_api_probes_ask_the_health_endpoints(objects: list[Object]) -> None:
    api = container(objects, "Deployment", "api")
    probes = {kind: api[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe")}
    probes["readinessProbe"] = api["readinessProbe"]["httpGet"]
    assert probes["livenessProbe"]["path"] == "/health/live"
    assert probes["startupProbe"]["path"] == "/health/live"
    assert probes["readinessProbe"]["path"] == "/health/ready"
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert {ports[p["port"]] for p in probes.values()} == {Settings().api_port}


def test_api_resources_match_the_worker_count_gunicorn_derives(
    objects: list[Object], tmp_path: Path
) -> None:
    resources = container(objects, "Deployment", "api")["resources"]
    assert resources["requests"] == resources["limits"]  # Guaranteed QoS
    # The cgroup v2 quota Kubernetes writes for limits.cpu, read the way gunicorn.py.ini does.
    (tmp_path / "cpu.max").write_text(f"{int(float(resources['limits']['cpu']) * 100000)} 100000")
    (tmp_path / "cgroup").write_text("0::/\n")
    quota = cgroup_cpu_limit(root=tmp_path, proc_cgroup=tmp_path / "cgroup")
    assert quota is not None
    assert quota == int(quota), "a fraction of a CPU is a throttled worker"
    workers = math.ceil(quota)
    assert _mib(resources["limits"]["memory"]) >= MIB_BASE + MIB_PER_WORKER * workers


def test_hpa_and_pdb_target_the_api(objects: list[Object]) -> None:
    deployment = find(objects, "Deployment", "api")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    hpa = find(objects, "HorizontalPodAutoscaler", "api")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count
    pdb = find(objects, "PodDisruptionBudget", "api")["spec"]
    selector = pdb["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"] == selector
    if hpa["minReplicas"] > 1:  # a drain leaves at least one pod serving
        assert pdb["maxUnavailable"] < hpa["minReplicas"]


def test_the_api_gets_its_own_credentials_from_the_secret_and_not_the_owners(
    objects: list[Object],
) -> None:
    api = container(objects, "Deployment", "api")
    from_secret = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in api["env"] if "valueFrom" in e
    }
    own = (
        "DATABASE_URL",
        "REDIS_URL",
        "GATEWAY_SECRET",  # part:gateway
        "DATABASE_DIRECT_URL",
        "EVENTS_BROKER_URL",  # part:events
        "SMTP_USERNAME",
        "SMTP_PASSWORD",
    )
    assert from_secret == {k: k for k in own}
    # Needed only behind PgBouncer, with a broker other than Redis, or with a mail provider
    # that wants a login: a Secret without them still starts the pod.
    optional = {
        e["name"]
        for e in api["env"]
        if e.get("valueFrom", {}).get("secretKeyRef", {}).get("optional")
    }
    assert optional == {
        "DATABASE_DIRECT_URL",
        "EVENTS_BROKER_URL",  # part:events
        "SMTP_USERNAME",
        "SMTP_PASSWORD",
    }
    config = find(objects, "ConfigMap", "app-config")["data"]
    assert not {*own, "DATABASE_OWNER_URL"} & config.keys()
    # Every setting in the ConfigMap is one the app (or gunicorn.py.ini) reads.
    known = {name.upper() for name in Settings.model_fields} | {"FORWARDED_ALLOW_IPS"}
    assert config.keys() <= known


REAL_HOSTS = {
    "public_base_url": "https://accounts.acme-corp.io",
    "mail_from": "no-reply@acme-corp.io",
    "smtp_host": "smtp.acme-corp.io",
}


def test_the_rendered_settings_start_the_app_in_the_overlays_environment(
    objects: list[Object], overlay: str
) -> None:
    config = find(objects, "ConfigMap", "app-config")["data"]
    # Real-looking secrets: production refuses placeholders, which is tested elsewhere.
    secrets = {
        "database_url": "postgresql://app_user:s3cret-Db@db:5432/app",
        "redis_url": "redis://:s3cret-Redis-pass@redis:6379/0",
        "gateway_secret": "a-real-gateway-secret-of-at-least-32-chars",  # part:gateway
    }
    values = {key.lower(): value for key, value in config.items()}
    # The prod overlay's placeholders (the operator's own hosts) refuse to start as they are...
    placeholders = {key for key, value in values.items() if "CHANGE_ME" in value}
    assert placeholders == (
        {"public_base_url", "mail_from", "smtp_host"} if overlay == "prod" else set()
    )
    if placeholders:
        with pytest.raises(ValidationError, match="placeholder value"):
            Settings.model_validate(values | secrets)
    # ...and start once they are set.
    values |= {key: value for key, value in REAL_HOSTS.items() if key in placeholders}
    # The values alone: model_validate reads no environment and no dotenv file.
    settings = Settings.model_validate(values | secrets)
    assert settings.is_production == (overlay == "prod")
    assert settings.show_docs == (overlay == "dev")
    assert settings.seed_demo_user == (overlay == "dev")
    # Mail: the dev catcher in the namespace, or the provider's submission port with STARTTLS.
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        ("mail", 1025, "none") if overlay == "dev" else ("smtp.acme-corp.io", 587, "starttls")
    )
