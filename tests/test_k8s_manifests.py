"""The Kubernetes overlays (deploy/k8s) as rendered by `kubectl kustomize`: hardened pods, the
probes the app answers, sizing that matches gunicorn's worker count, the repository's own
nginx.conf, and NetworkPolicies that let only the intended pods talk."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import Settings
from tests.k8s_manifests import (
    EXTERNAL,
    OVERLAYS,
    ROOT,
    Connection,
    Labels,
    Object,
    allowed,
    find,
    pod_templates,
    render,
)
from tools.devstack.nginx import template_variables
from utils.cpus import cgroup_cpu_limit

# docs/benchmark.md: peak worker RSS under a login storm 121 MB; the master and headroom 128 MiB.
MIB_PER_WORKER = 192
MIB_BASE = 128
# The version `make check-deploy` pins (one place to change it).
K8S_VERSION = re.search(
    r"K8S_VERSION=\$\{K8S_VERSION:-([0-9.]+)\}", (ROOT / "docker" / "check-deploy.sh").read_text()
)


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Object]]:
    workdir = tmp_path_factory.mktemp("k8s")
    return {name: render(name, workdir) for name in OVERLAYS}


@pytest.fixture(scope="module")
def objects(rendered: dict[str, list[Object]], overlay: str) -> list[Object]:
    return rendered[overlay]


def _container(objects: list[Object], kind: str, name: str) -> dict[str, Any]:
    container: dict[str, Any] = find(objects, kind, name)["spec"]["template"]["spec"]["containers"][
        0
    ]
    return container


def _mib(quantity: str) -> int:
    assert quantity.endswith("Mi"), quantity
    return int(quantity[:-2])


def test_every_object_validates_strictly_against_the_pinned_kubernetes(
    objects: list[Object], tmp_path: Path
) -> None:
    assert K8S_VERSION is not None
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    validate = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(validate), "--strict", "--quiet", "-k", K8S_VERSION[1], str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_pod_is_non_root_read_only_without_privileges(objects: list[Object]) -> None:
    for name, template in pod_templates(objects):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        # Service links would set API_PORT=tcp://..., REDIS_PORT=... that Settings would read.
        assert pod["enableServiceLinks"] is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_namespace_enforces_the_restricted_pod_security_standard(objects: list[Object]) -> None:
    (namespace,) = [o for o in objects if o["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        namespace["metadata"]["name"]
    }


def test_api_runs_gunicorn_as_the_image_user(objects: list[Object]) -> None:
    pod = find(objects, "Deployment", "api")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's `app` user
    assert pod["containers"][0]["command"] == ["gunicorn", "-c", "gunicorn.py.ini", "main:app"]
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert "/tmp" in mounts  # noqa: S108 (the only writable folder besides /dev/shm)


def test_api_probes_ask_the_health_endpoints(objects: list[Object]) -> None:
    api = _container(objects, "Deployment", "api")
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
    resources = _container(objects, "Deployment", "api")["resources"]
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


def test_the_gateway_renders_the_repository_nginx_conf_like_compose(objects: list[Object]) -> None:
    template = find(objects, "ConfigMap", "nginx-template")["data"]["nginx.conf"]
    assert template == (ROOT / "nginx.conf").read_text()
    pod = find(objects, "Deployment", "nginx")["spec"]["template"]["spec"]
    nginx = pod["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in nginx["env"]}
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    # Exactly the template's variables are substituted, and each one has its value.
    variables = template_variables(template)
    substituted = env["NGINX_ENVSUBST_FILTER"].removeprefix("^(").removesuffix(")$").split("|")
    assert set(substituted) == variables
    assert variables <= env.keys()
    assert env["API_UPSTREAM"] == f"{find(objects, 'Service', 'api')['metadata']['name']}:8000"
    mounts = {m["mountPath"]: m["name"] for m in nginx["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    templates = volumes[mounts["/etc/nginx/templates"]]["configMap"]
    assert templates["items"] == [{"key": "nginx.conf", "path": "nginx.conf.template"}]
    assert "emptyDir" in volumes[mounts["/etc/nginx"]]  # written by the entrypoint


def test_every_static_file_is_served_from_the_static_configmap(objects: list[Object]) -> None:
    pod = find(objects, "Deployment", "nginx")["spec"]["template"]["spec"]
    (static,) = [v["configMap"] for v in pod["volumes"] if v["name"] == "static"]
    data = find(objects, "ConfigMap", "nginx-static")["binaryData"]
    served = {item["path"]: base64.b64decode(data[item["key"]]) for item in static["items"]}
    files = {
        str(path.relative_to(ROOT / "static")): path.read_bytes()
        for path in (ROOT / "static").rglob("*")
        if path.is_file()
    }
    assert served == files


def test_the_copies_kustomize_reads_equal_the_repository_files() -> None:
    result = subprocess.run(
        [str(ROOT / "deploy" / "k8s" / "sync.sh"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_migrations_run_dbmate_as_the_owner_in_a_job(objects: list[Object]) -> None:
    job = _container(objects, "Job", "db-migrate")
    assert job["command"] == [
        "dbmate",
        "--env",
        "DATABASE_OWNER_URL",
        "--migrations-dir",
        "db/migrations",
        "--no-dump-schema",
        "--wait",
        "up",
    ]
    assert job["image"] == _container(objects, "Deployment", "api")["image"]
    (owner,) = job["env"]
    assert owner["name"] == "DATABASE_OWNER_URL"
    assert owner["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_OWNER_URL"


def test_the_api_gets_its_own_credentials_from_the_secret_and_not_the_owners(
    objects: list[Object],
) -> None:
    api = _container(objects, "Deployment", "api")
    from_secret = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in api["env"] if "valueFrom" in e
    }
    assert from_secret == {k: k for k in ("DATABASE_URL", "REDIS_URL", "GATEWAY_SECRET")}
    config = find(objects, "ConfigMap", "app-config")["data"]
    assert not {"DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "GATEWAY_SECRET"} & config.keys()
    # Every setting in the ConfigMap is one the app (or gunicorn.py.ini) reads.
    known = {name.upper() for name in Settings.model_fields} | {"FORWARDED_ALLOW_IPS"}
    assert config.keys() <= known


def test_prod_creates_no_secret_and_dev_takes_it_from_the_ignored_env_file(
    rendered: dict[str, list[Object]],
) -> None:
    assert not [o for o in rendered["prod"] if o["kind"] == "Secret"]
    dev_secret = find(rendered["dev"], "Secret", "app-secrets")
    assert dev_secret["metadata"]["name"] != "app-secrets"  # hashed: pods restart on change
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/k8s/overlays/dev/secrets.env"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


# Every workload's pods, and any other pod that might run in the namespace.
INTRUDER: Labels = {"app.kubernetes.io/name": "intruder"}


def _pods(objects: list[Object]) -> dict[str, Labels]:
    pods = {name: t["metadata"]["labels"] for name, t in pod_templates(objects)}
    return {**pods, "intruder": INTRUDER}


def _who_reaches(objects: list[Object], destination: Labels, port: int) -> set[str]:
    return {
        name
        for name, labels in _pods(objects).items()
        if allowed(objects, Connection(labels, destination, port)) and labels != destination
    }


def test_only_nginx_reaches_the_api_and_echo(objects: list[Object]) -> None:
    pods = _pods(objects)
    assert _who_reaches(objects, pods["api"], 8000) == {"nginx"}
    assert _who_reaches(objects, pods["echo"], 9000) == {"nginx"}
    assert allowed(objects, Connection(EXTERNAL, pods["nginx"], 8080))
    assert not allowed(objects, Connection(EXTERNAL, pods["api"], 8000))


def test_only_the_api_and_the_migrations_reach_postgresql_and_redis(
    objects: list[Object], overlay: str
) -> None:
    # prod: managed services outside the cluster; dev: the pods of the overlay.
    pods = _pods(objects)
    postgres = pods.get("postgres", EXTERNAL)
    redis = pods.get("redis", EXTERNAL)
    assert (postgres is EXTERNAL) == (overlay == "prod")
    assert _who_reaches(objects, postgres, 5432) == {"api", "db-migrate"}
    assert _who_reaches(objects, redis, 6379) == {"api"}


def test_a_pod_without_a_policy_of_its_own_accepts_nothing_and_reaches_only_dns(
    objects: list[Object],
) -> None:
    for port in (80, 8000, 8080):
        assert _who_reaches(objects, INTRUDER, port) == set()
        assert not allowed(objects, Connection(EXTERNAL, INTRUDER, port))
        assert not allowed(objects, Connection(INTRUDER, EXTERNAL, port))


def test_every_image_has_an_explicit_tag(objects: list[Object]) -> None:
    for name, template in pod_templates(objects):
        for container in template["spec"]["containers"]:
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, (name, image)
            assert not image.endswith(":latest"), (name, image)
