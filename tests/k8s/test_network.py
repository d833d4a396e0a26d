"""The NetworkPolicies, evaluated for every pod of each overlay and for an unknown one: who may
open a connection to whom."""

from __future__ import annotations

from tests.k8s.manifests import EXTERNAL, Connection, Labels, Object, allowed, pod_templates

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


def test_only_nginx_reaches_the_api_and_the_service_behind_it(objects: list[Object]) -> None:
    pods = _pods(objects)
    assert _who_reaches(objects, pods["api"], 8000) == {"nginx"}
    assert _who_reaches(objects, pods["echo"], 9000) == {"nginx"}  # part:gateway
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


def test_only_the_api_sends_mail_to_the_catcher_or_the_provider(
    objects: list[Object], overlay: str
) -> None:
    """dev: the mail catcher's pod (mail.yaml) on 1025; prod: the provider outside the cluster
    on the SMTP submission ports, and the catcher does not exist."""
    pods = _pods(objects)
    if overlay == "dev":
        assert _who_reaches(objects, pods["mail"], 1025) == {"api"}
        assert not allowed(objects, Connection(EXTERNAL, pods["mail"], 1025))
    else:
        assert "mail" not in pods
        for port in (587, 465):
            assert _who_reaches(objects, EXTERNAL, port) == {"api"}
