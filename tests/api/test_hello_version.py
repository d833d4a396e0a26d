"""/v2/hello's `meta.app_version` is the version module's, not a copy: a release that bumps
version.py says so without touching the endpoint."""

from __future__ import annotations

import httpx
import pytest

import version


async def test_v2_app_version_follows_the_version_module(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for release in ("9.8.7", "0.0.1-rc.2"):
        monkeypatch.setattr(version, "__version__", release)
        response = await client.get("/v2/hello")
        assert response.json()["meta"]["app_version"] == release
