"""Whom the API believes about the client's address in each overlay (issue 23, finding 3): never
every peer ("*"), only private (pod network) addresses, each one gunicorn accepts."""

from __future__ import annotations

import ipaddress

from tests.k8s.manifests import Object, find


def test_the_api_trusts_forwarded_headers_only_from_private_addresses(
    objects: list[Object],
) -> None:
    trusted = find(objects, "ConfigMap", "app-config")["data"]["FORWARDED_ALLOW_IPS"]
    entries = [entry.strip() for entry in trusted.split(",")]
    assert "*" not in entries
    for entry in entries:
        network = ipaddress.ip_network(entry)  # strict, as gunicorn validates it
        assert not network.is_global, entry
