"""engine: swarm renders a stack file (swarm/render.py): what a user of docker stack deploy
would notice in it."""

from __future__ import annotations

from typing import Any

from beast_observatory.bundle.compile import check_stack
from beast_observatory.swarm.names import STACK_FILE, config_name
from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data, stack_of
from swarm.swarm_data import stack_of as stack_file
from swarm.swarm_data import swarm_bundle, swarm_spec


def _prometheus_yml(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = load_yaml(render(data).files["prometheus/prometheus.yml"], "p")
    return out


def test_a_stack_file_instead_of_a_compose_project() -> None:
    bundle = swarm_bundle()
    assert STACK_FILE in bundle.files
    assert "docker-compose.yml" not in bundle.files
    compose = render(spec_data({"node_exporter": {"enabled": True}}))
    assert "docker-compose.yml" in compose.files
    assert STACK_FILE not in compose.files


def test_exporters_run_on_every_node_and_prometheus_and_grafana_stay_with_their_data() -> None:
    services = stack_file(swarm_bundle())["services"]
    assert services["node-exporter"]["deploy"]["mode"] == "global"
    assert "placement" not in services["node-exporter"]["deploy"]
    for name in ("prometheus", "grafana"):
        deploy = services[name]["deploy"]
        assert deploy["mode"] == "replicated"
        assert deploy["replicas"] == 1
        # a named volume lives on one node: the task must not move to another
        assert deploy["placement"]["constraints"] == ["node.role == manager"]
        assert deploy["restart_policy"] == {"condition": "any"}


def test_placement_from_the_spec() -> None:
    data = swarm_spec()
    data["services"]["grafana"]["swarm"] = {
        "replicas": 2,
        "constraints": ["node.labels.ui == yes"],
        "preferences": ["node.labels.zone"],
    }
    deploy = stack_file(render(data))["services"]["grafana"]["deploy"]
    assert deploy["replicas"] == 2
    assert deploy["placement"] == {
        "constraints": ["node.labels.ui == yes"],
        "preferences": [{"spread": "node.labels.zone"}],
    }


def test_no_compose_only_keys_and_ports_in_host_mode() -> None:
    services = stack_file(swarm_bundle())["services"]
    for name, service in services.items():
        assert not {"container_name", "restart", "depends_on", "pid"} & set(service), name
        for port in service.get("ports", []):
            assert port["mode"] == "host", name
    assert services["prometheus"]["ports"] == [
        {"mode": "host", "protocol": "tcp", "published": 9090, "target": 9090}
    ]


def test_configs_are_named_by_content_and_a_change_rotates_only_its_own() -> None:
    before = stack_file(swarm_bundle())
    data = swarm_spec()
    data["services"]["prometheus"]["global"]["scrape_interval"] = "7s"
    bundle = render(data)
    after = stack_file(bundle)
    name = config_name(
        "beast", "prometheus/prometheus.yml", bundle.files["prometheus/prometheus.yml"]
    )
    assert after["services"]["prometheus"]["configs"] == [
        {"source": name, "target": "/etc/prometheus/prometheus.yml"}
    ]
    assert after["configs"][name] == {"name": name, "file": "./prometheus/prometheus.yml"}
    assert name not in before["configs"]
    assert after["services"]["grafana"]["configs"] == before["services"]["grafana"]["configs"]


def test_secrets_are_swarm_secrets_named_on_the_host() -> None:
    doc = stack_file(swarm_bundle())
    grafana = doc["services"]["grafana"]
    assert grafana["secrets"] == [
        {"source": "grafana-admin-password", "target": "/run/secrets/gf_security_admin_password"}
    ]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == (
        "/run/secrets/gf_security_admin_password"
    )
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]
    entry = doc["secrets"]["grafana-admin-password"]
    # its name is the value's hash, computed on the manager: the value never leaves it
    assert entry["name"] == "${OBSERVATORY_SECRET_GRAFANA_ADMIN_PASSWORD}"
    assert entry["x-observatory-env"] == "GRAFANA_ADMIN_PASSWORD"


def test_a_global_exporter_is_found_per_task_by_dns() -> None:
    config = _prometheus_yml(swarm_spec(refresh_interval="5s"))
    node = next(j for j in config["scrape_configs"] if j["job_name"] == "node")
    assert "static_configs" not in node
    assert node["dns_sd_configs"] == [
        {"names": ["tasks.node-exporter"], "type": "A", "port": 9100, "refresh_interval": "5s"}
    ]


def test_dockerswarm_discovery_asks_a_managers_socket() -> None:
    bundle = render(swarm_spec(discovery="dockerswarm_sd"))
    config = load_yaml(bundle.files["prometheus/prometheus.yml"], "p")
    node = next(j for j in config["scrape_configs"] if j["job_name"] == "node")
    sd = node["dockerswarm_sd_configs"][0]
    assert sd["role"] == "tasks"
    assert sd["filters"] == [{"name": "service", "values": ["beast_node-exporter"]}]
    prometheus = stack_file(bundle)["services"]["prometheus"]
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in prometheus["volumes"]
    assert prometheus["deploy"]["placement"]["constraints"] == ["node.role == manager"]


def test_an_extra_exporter_gets_a_job_of_its_own() -> None:
    data = swarm_spec()
    data["services"]["extra"] = {
        "cadvisor": {"image": "cadvisor:v1", "x-swarm": {"exporter": {"port": 8080}}}
    }
    bundle = render(data)
    service = stack_file(bundle)["services"]["cadvisor"]
    assert service["deploy"]["mode"] == "global"
    assert "x-swarm" not in service
    config = load_yaml(bundle.files["prometheus/prometheus.yml"], "p")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "cadvisor")
    assert job["dns_sd_configs"][0]["names"] == ["tasks.cadvisor"]


def test_overlay_networks() -> None:
    assert stack_file(swarm_bundle())["networks"] == {"observatory": {"driver": "overlay"}}


def test_rendering_is_deterministic() -> None:
    assert swarm_bundle().files == swarm_bundle().files


def test_compose_keys_swarm_refuses_are_errors() -> None:
    data = swarm_spec()
    data["services"]["prometheus"]["compose"] = {"mem_swappiness": 10, "security_opt": ["x"]}
    problems = {p.message: p for p in check_stack(stack_of(data), {}, {})}
    refused = next(p for m, p in problems.items() if m.startswith("mem_swappiness"))
    assert refused.severity == "error"
    ignored = next(p for m, p in problems.items() if m.startswith("security_opt"))
    assert ignored.severity == "warning"
