"""`make check-deploy`'s settings check (tools/devstack/deploy_settings.py) on the committed
files, and what it finds in broken ones."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.k8s.manifests import Object, container
from tools.devstack.deploy_settings import env_file_problems, kubernetes_problems
from tools.devstack.nginx import ROOT


def test_the_production_env_file_names_known_settings_and_the_mail_ones() -> None:
    assert env_file_problems(ROOT / ".env.prod") == []


def test_a_misspelt_or_missing_mail_setting_in_an_env_file_is_found(tmp_path: Path) -> None:
    text = (ROOT / ".env.prod").read_text().replace("SMTP_PASSWORD=", "SMTP_PASS=")
    env_file = tmp_path / "prod.env"
    env_file.write_text(text)
    problems = env_file_problems(env_file)
    assert any("SMTP_PASS is no setting" in p for p in problems)
    assert any("no SMTP_PASSWORD" in p for p in problems)


def test_the_prod_overlay_gives_the_mail_settings(rendered: dict[str, list[Object]]) -> None:
    assert kubernetes_problems(rendered["prod"]) == []


def test_a_prod_overlay_without_the_smtp_login_from_the_secret_is_found(
    rendered: dict[str, list[Object]],
) -> None:
    objects = copy.deepcopy(rendered["prod"])
    api = container(objects, "Deployment", "api")
    api["env"] = [e for e in api["env"] if e["name"] != "SMTP_PASSWORD"]
    assert kubernetes_problems(objects) == [
        "k8s: the api does not take SMTP_PASSWORD from the Secret"
    ]
