"""The gateway runs the repository's own nginx.conf and static files, rendered by the nginx
image's envsubst step as compose does."""

from __future__ import annotations

import base64
import re
import subprocess

from tests.k8s.manifests import ROOT, Object, find
from tools.devstack.nginx import template_variables


def test_the_gateway_renders_the_repository_nginx_conf_like_compose(objects: list[Object]) -> None:
    template = find(objects, "ConfigMap", "nginx-template")["data"]["nginx.conf"]
    assert template == (ROOT / "nginx.conf").read_text()
    pod = find(objects, "Deployment", "nginx")["spec"]["template"]["spec"]
    nginx = pod["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in nginx["env"]}
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    # Exactly the template's variables are substituted (the image substitutes the variables of
    # its environment whose names the filter matches), and each one has its value.
    variables = template_variables(template)
    substituted = {name for name in env if re.fullmatch(env["NGINX_ENVSUBST_FILTER"], name)}
    assert substituted == variables
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
