"""Every object of each overlay: valid for the pinned Kubernetes, pods hardened, images pinned,
migrations in a Job with the owner's credentials, secrets never committed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.k8s.manifests import ROOT, Object, container, find, pod_templates

# The version `make check-deploy` pins (one place to change it).
K8S_VERSION = re.search(
    r"K8S_VERSION=\$\{K8S_VERSION:-([0-9.]+)\}", (ROOT / "docker" / "check-deploy.sh").read_text()
)


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
        for each in pod["containers"]:
            context = each["securityContext"]
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


def test_every_image_has_an_explicit_tag(objects: list[Object]) -> None:
    for name, template in pod_templates(objects):
        for each in template["spec"]["containers"]:
            image = each["image"]
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, (name, image)
            assert not image.endswith(":latest"), (name, image)


def test_migrations_run_dbmate_as_the_owner_in_a_job(objects: list[Object]) -> None:
    job = container(objects, "Job", "db-migrate")
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
    assert job["image"] == container(objects, "Deployment", "api")["image"]
    (owner,) = job["env"]
    assert owner["name"] == "DATABASE_OWNER_URL"
    assert owner["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_OWNER_URL"


def test_prod_creates_no_secret_and_dev_takes_it_from_the_ignored_env_file(
    rendered: dict[str, list[Object]],
) -> None:
    assert not [o for o in rendered["prod"] if o["kind"] == "Secret"]
    dev_secret = find(rendered["dev"], "Secret", "app-secrets")
    assert dev_secret["metadata"]["name"] != "app-secrets"  # hashed: pods restart on change
    # Read, not asked of git: a service fresh from `copier copy` is no repository yet.
    ignore = (ROOT / "deploy/k8s/overlays/dev/.gitignore").read_text().splitlines()
    assert "secrets.env" in ignore
