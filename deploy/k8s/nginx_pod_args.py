"""`docker run` arguments that start the nginx image the way the rendered `nginx` Deployment
runs it in a pod: its user, a read-only root filesystem, no capabilities, its environment, each
emptyDir an empty world-writable folder (as the kubelet makes it), each ConfigMap item a file at
its path. `make check-deploy` runs `nginx -t` with them (docker/check-deploy.sh).

    python deploy/k8s/nginx_pod_args.py RENDERED.yaml deploy/k8s/base SCRATCH  (one argument a line)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

# Values from Secrets are not in the rendered output; any value renders the template.
STAND_IN_VALUE = "check-only"


def nginx_pod(rendered: Path) -> dict[str, Any]:
    for doc in yaml.safe_load_all(rendered.read_text()):
        if doc and doc["kind"] == "Deployment" and doc["metadata"]["name"] == "nginx":
            pod: dict[str, Any] = doc["spec"]["template"]["spec"]
            return pod
    raise SystemExit(f"{rendered}: no Deployment nginx")


def configmap_files(base: Path) -> dict[str, dict[str, str]]:
    """Generated ConfigMap -> key -> the file (relative to base/) it is generated from."""
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    found: dict[str, dict[str, str]] = {}
    for generator in kustomization["configMapGenerator"]:
        for entry in generator.get("files", []):
            key, _, path = entry.rpartition("=")
            found.setdefault(generator["name"], {})[key or Path(path).name] = path
    return found


def arguments(rendered: Path, base: Path, scratch: Path) -> list[str]:
    pod = nginx_pod(rendered)
    container = pod["containers"][0]
    user = pod["securityContext"]
    args = [f"--user={user['runAsUser']}:{user['runAsGroup']}", "--read-only", "--cap-drop=ALL"]
    args.append("--security-opt=no-new-privileges")
    for env in container["env"]:
        args.append(f"--env={env['name']}={env.get('value', STAND_IN_VALUE)}")
    sources = configmap_files(base)
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            folder = scratch / mount["name"]
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o777)
            args.append(f"--volume={folder}:{mount['mountPath']}")
            continue
        configmap = volume["configMap"]
        files = sources[configmap["name"].rsplit("-", 1)[0]]  # without the content hash
        for item in configmap["items"]:
            source = (base / files[item["key"]]).resolve()
            args.append(f"--volume={source}:{mount['mountPath']}/{item['path']}:ro")
    return [*args, container["image"], *container["args"]]


if __name__ == "__main__":
    rendered, base, scratch = (Path(arg) for arg in sys.argv[1:4])
    print("\n".join(arguments(rendered, base, scratch)))
