"""plan of an environment with engine: swarm (swarm/plan.py): the stack file against the
services Swarm runs, said in what Swarm will do."""

from __future__ import annotations

from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.plan.model import Plan, format_plan
from beast_observatory.swarm.names import STACK_FILE
from beast_observatory.swarm.plan import swarm_plan
from beast_observatory.yamlio import load_yaml
from bundles import render
from swarm.swarm_data import deployed_services, swarm_bundle, swarm_spec

SECRET_NAMES = {"grafana-admin-password": "beast_grafana-admin-password_0123456789ab"}


def plan_of(bundle: Bundle, live: list[dict[str, Any]]) -> Plan:
    return swarm_plan(
        bundle,
        live,
        files={},
        secret_names=SECRET_NAMES,
        env_names=frozenset({"GRAFANA_ADMIN_PASSWORD"}),
        deploy_dir="/opt/observatory/beast",
        host="manager (Swarm manager)",
    )


def actions(plan: Plan) -> dict[str, str]:
    return {s.service: s.action for s in plan.services}


def test_an_empty_swarm_creates_every_service() -> None:
    plan = plan_of(swarm_bundle(), [])
    assert actions(plan) == {
        "grafana": "create",
        "node-exporter": "create",
        "prometheus": "create",
    }
    assert "3 to create" in format_plan(plan)


def test_planning_what_was_deployed_changes_no_service() -> None:
    bundle = swarm_bundle()
    plan = plan_of(bundle, deployed_services(bundle))
    assert set(actions(plan).values()) == {"unchanged"}, format_plan(plan)


def test_a_scrape_change_updates_prometheus_only_and_says_its_data_stays() -> None:
    live = deployed_services(swarm_bundle())
    data = swarm_spec()
    data["services"]["prometheus"]["global"]["scrape_interval"] = "7s"
    plan = plan_of(render(data), live)
    assert actions(plan) == {
        "grafana": "unchanged",
        "node-exporter": "unchanged",
        "prometheus": "update",
    }
    reasons = next(s.reasons for s in plan.services if s.service == "prometheus")
    text = "\n".join(reasons)
    assert "config at /etc/prometheus/prometheus.yml" in text
    assert "immutable" in text
    assert "its data volume beast_prometheus-data stays" in text
    assert "prometheus: update" in format_plan(plan)


def test_an_image_change_is_named() -> None:
    bundle = swarm_bundle()
    live = deployed_services(bundle)
    was = load_yaml(bundle.files[STACK_FILE])["services"]["node-exporter"]["image"]
    data = swarm_spec()
    data["services"]["node_exporter"]["image"] = "prom/node-exporter:v1.9.0"
    plan = plan_of(render(data), live)
    assert actions(plan)["node-exporter"] == "update"
    reasons = next(s.reasons for s in plan.services if s.service == "node-exporter")
    assert reasons[0] == f"image {was} -> prom/node-exporter:v1.9.0"


def test_more_replicas_only_adds_tasks() -> None:
    live = deployed_services(swarm_bundle())
    data = swarm_spec()
    data["services"]["grafana"]["swarm"] = {"replicas": 2}
    plan = plan_of(render(data), live)
    grafana = next(s for s in plan.services if s.service == "grafana")
    assert grafana.action == "update"
    assert grafana.reasons == ("replicas 1 -> 2 (tasks added or removed only)",)


def test_a_service_gone_from_the_spec_is_removed_with_allow_remove() -> None:
    live = deployed_services(swarm_bundle())
    data = swarm_spec()
    data["services"]["node_exporter"]["enabled"] = False
    plan = plan_of(render(data), live)
    gone = next(s for s in plan.services if s.service == "node-exporter")
    assert gone.action == "remove"
    assert "--allow-remove" in gone.reasons[0]


def test_a_new_secret_value_is_a_new_secret() -> None:
    bundle = swarm_bundle()
    live = deployed_services(bundle)
    plan = swarm_plan(
        bundle,
        live,
        files={},
        secret_names={"grafana-admin-password": "beast_grafana-admin-password_fedcba987654"},
        env_names=frozenset({"GRAFANA_ADMIN_PASSWORD"}),
        deploy_dir="/opt/observatory/beast",
        host="manager",
    )
    grafana = next(s for s in plan.services if s.service == "grafana")
    assert grafana.action == "update"
    assert any(
        r.startswith("secret at /run/secrets/gf_security_admin_password") for r in grafana.reasons
    )


def test_a_missing_secret_is_said() -> None:
    bundle = swarm_bundle()
    plan = swarm_plan(
        bundle,
        [],
        files={},
        secret_names={},
        env_names=frozenset(),
        deploy_dir="/opt/observatory/beast",
        host="manager",
    )
    assert plan.missing_secrets == ("GRAFANA_ADMIN_PASSWORD",)
