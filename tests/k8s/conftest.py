"""Both overlays rendered once per session; `objects` is each overlay's list in turn."""

from __future__ import annotations

import pytest

from tests.k8s.manifests import OVERLAYS, Object, render


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Object]]:
    workdir = tmp_path_factory.mktemp("k8s")
    return {name: render(name, workdir) for name in OVERLAYS}


@pytest.fixture(scope="session")
def objects(rendered: dict[str, list[Object]], overlay: str) -> list[Object]:
    return rendered[overlay]
