"""Who shares a network with whom in the compose stacks (issue 23, finding 3), read from
compose.yaml and compose.yaml + compose.prod.yaml as compose merges them: a service behind the
gateway (echo) never shares one with the api, nginx is on both, and the api trusts
X-Forwarded-* only from nginx's fixed address, as the Kubernetes NetworkPolicies do."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACKS = {"dev": ["compose.yaml"], "prod": ["compose.yaml", "compose.prod.yaml"]}


class _Reset:
    pass


class _Override:
    def __init__(self, value: Any) -> None:
        self.value = value


class _Loader(yaml.SafeLoader):
    """compose's merge tags: `!reset` drops an inherited value, `!override` replaces it."""


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> _Reset:
    return _Reset()


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> _Override:
    if isinstance(node, yaml.SequenceNode):
        return _Override(loader.construct_sequence(node, deep=True))
    if isinstance(node, yaml.MappingNode):
        return _Override(loader.construct_mapping(node, deep=True))
    return _Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


def _as_mapping(key: str, value: Any) -> Any:
    """compose's short forms: `networks: [a, b]` and `environment: [K=V]` are mappings."""
    if key == "networks" and isinstance(value, list):
        return dict.fromkeys(value)
    if key == "environment" and isinstance(value, list):
        return dict(item.split("=", 1) for item in value)
    return value


_DROPPED = object()


def _merge(base: Any, over: Any, key: str = "") -> Any:
    over = _as_mapping(key, over)
    if isinstance(over, _Reset):
        return _DROPPED
    if isinstance(over, _Override):
        return over.value
    base = _as_mapping(key, base if base is not None else {})
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    merged = dict(base)
    for name, value in over.items():
        result = _merge(base.get(name), value, name)
        if result is _DROPPED:
            merged.pop(name, None)
        else:
            merged[name] = result
    return merged


_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, default = match.groups()
        if env.get(name):
            return env[name]
        return default if op in (":-", "-") else "set-by-the-test"

    return _VARIABLE.sub(value, text)


def load(stack: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    merged: Any = {}
    for name in STACKS[stack]:
        text = interpolate((ROOT / name).read_text(), env or {})
        merged = _merge(merged, yaml.load(text, Loader=_Loader))  # noqa: S506 (safe subclass)
    assert isinstance(merged, dict)
    return merged


def networks_of(config: dict[str, Any], service: str) -> dict[str, Any]:
    """The networks a service is attached to (`default` when it names none)."""
    named = config["services"][service].get("networks")
    return dict(named) if named else {"default": None}


@pytest.fixture(params=list(STACKS))
def config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


# >>> part:gateway
def test_the_api_and_the_service_behind_the_gateway_share_no_network(
    config: dict[str, Any],
) -> None:
    shared = networks_of(config, "api").keys() & networks_of(config, "echo").keys()
    assert not shared, f"api and echo both on {sorted(shared)}"


# <<< part:gateway


def test_nginx_reaches_the_api_and_the_service_behind_the_gateway(config: dict[str, Any]) -> None:
    nginx = networks_of(config, "nginx").keys()
    assert nginx & networks_of(config, "api").keys()
    assert nginx & networks_of(config, "echo").keys()  # part:gateway


@pytest.mark.parametrize(
    "outside",
    [
        "nginx",
        "echo",  # part:gateway
    ],
)
@pytest.mark.parametrize("database", ["postgres", "redis"])
def test_only_the_api_and_migrate_reach_the_databases(
    config: dict[str, Any], outside: str, database: str
) -> None:
    shared = networks_of(config, outside).keys() & networks_of(config, database).keys()
    assert not shared, f"{outside} and {database} both on {sorted(shared)}"


def nginx_address_for_the_api(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """nginx's fixed address on the network it shares with the api, and that network."""
    nginx = networks_of(config, "nginx")
    shared = sorted(nginx.keys() & networks_of(config, "api").keys())
    assert len(shared) == 1, shared
    attached = nginx[shared[0]] or {}
    assert attached.get("ipv4_address"), f"nginx has no fixed address on {shared[0]}"
    return attached["ipv4_address"], config["networks"][shared[0]] or {}


@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("env", [{}, {"API_NETWORK_PREFIX": "10.77.3"}], ids=["default", "moved"])
def test_the_api_trusts_forwarded_headers_only_from_nginxs_fixed_address(
    stack: str, env: dict[str, str]
) -> None:
    config = load(stack, env)
    trusted = str(config["services"]["api"]["environment"]["FORWARDED_ALLOW_IPS"])
    assert trusted != "*"
    address, network = nginx_address_for_the_api(config)
    assert [item.strip() for item in trusted.split(",")] == [address]
    if env:
        assert address.startswith(env["API_NETWORK_PREFIX"] + ".")
    (ipam,) = network["ipam"]["config"]
    ip = ipaddress.ip_address(address)
    assert ip in ipaddress.ip_network(ipam["subnet"])
    # Docker hands replicas addresses from ip_range only: none can take nginx's first.
    assert ip not in ipaddress.ip_network(ipam["ip_range"])


def test_the_databases_network_has_no_route_out_in_production() -> None:
    config = load("prod")
    for database in ("postgres", "redis"):
        for name in networks_of(config, database):
            assert (config["networks"][name] or {}).get("internal") is True, name
