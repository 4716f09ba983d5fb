"""What a backup copies of a stack, read from its rendered docker-compose.yml (pure)."""

from __future__ import annotations

from typing import Any

from beast_observatory.deploy.backup.data import (
    DataPart,
    StackData,
    kind_data_dirs,
    place,
    stack_data,
    volume_name,
)
from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data, stack_of


def data_of(services: dict[str, Any] | None = None, **top: Any) -> StackData:
    spec = spec_data(services, **top)
    bundle = render(spec)
    compose = load_yaml(bundle.files["docker-compose.yml"])
    return stack_data(compose, "beast", kind_data_dirs(stack_of(spec)))


def by_id(data: StackData) -> dict[str, DataPart]:
    return {p.id: p for p in data.parts}


def test_the_starter_stack_keeps_three_volumes_each_named_after_its_kind() -> None:
    data = data_of()
    prometheus_image = load_yaml(render(spec_data({})).files["docker-compose.yml"])["services"][
        "prometheus"
    ]["image"]
    assert [(p.id, p.type, p.source, p.services) for p in data.parts] == [
        ("grafana", "volume", "beast_grafana-data", ("grafana",)),
        ("prometheus", "volume", "beast_prometheus-data", ("prometheus",)),
        ("pushgateway", "volume", "beast_pushgateway-data", ("pushgateway",)),
    ]
    assert data.notes == ()
    assert data.helper_image == prometheus_image  # the stack's own image: busybox sh and tar


def test_alertmanager_keeps_its_silences_and_notification_log_in_its_volume() -> None:
    part = by_id(data_of({"alertmanager": {"enabled": True}}))["alertmanager"]
    assert (part.source, part.member) == ("beast_alertmanager-data", "data/alertmanager.tar")


def test_a_data_path_is_a_host_directory_and_the_config_mounts_are_not_data() -> None:
    data = data_of({"prometheus": {"data": {"path": "/srv/prometheus"}}})
    part = by_id(data)["prometheus"]
    assert (part.type, part.source, part.services) == ("path", "/srv/prometheus", ("prometheus",))
    assert all(not p.source.startswith(".") for p in data.parts)  # ./prometheus is config


def test_a_data_volume_named_in_the_spec_and_a_custom_target() -> None:
    data = data_of(
        {"grafana": {"data": {"volume": "dashboards-state", "target": "/data"}}},
        volumes={"dashboards-state": {"name": "grafana-prod"}},
    )
    part = by_id(data)["grafana"]
    assert (part.source, part.volume) == ("grafana-prod", "dashboards-state")


def test_data_in_a_containers_own_layer_is_said_not_copied() -> None:
    data = data_of({"grafana": {"data": None}})
    assert "grafana" not in by_id(data)
    assert data.notes == (
        "grafana: its data (/var/lib/grafana) is in the container's own layer (data: null): "
        "not backed up",
    )


EXTRA = {
    "node_exporter": {"enabled": True},
    "extra": {
        "victoria": {
            "image": "victoriametrics/victoria-metrics:v1.102.0",
            "volumes": [
                "vm-data:/storage",
                "./conf:/etc/vm:ro",
                "/var/run/docker.sock:/var/run/docker.sock",
                "/scratch",
            ],
        },
        "reader": {
            "image": "busybox:1.36",
            "volumes": ["vm-data:/vm:ro", {"type": "volume", "source": "shared", "target": "/s"}],
        },
    },
}
VOLUMES = {"vm-data": {"name": "victoria-metrics-data"}, "shared": {"external": True}}


def test_extra_services_volumes_are_parts_and_their_host_paths_are_not() -> None:
    data = data_of(EXTRA, volumes=VOLUMES)
    parts = by_id(data)
    assert parts["volume/vm-data"].source == "victoria-metrics-data"
    assert parts["volume/shared"].source == "shared"  # external: not prefixed
    assert not [p for p in data.parts if p.type == "path"]  # docker.sock, node-exporter's /
    assert data.notes == (
        "victoria: an anonymous volume at /scratch is not backed up (give it a name in the spec)",
    )


def test_only_the_services_that_write_to_a_volume_are_stopped_for_its_copy() -> None:
    parts = by_id(data_of(EXTRA, volumes=VOLUMES))
    assert parts["volume/vm-data"].services == ("victoria",)  # reader mounts it read-only
    assert parts["volume/shared"].services == ("reader",)


def test_a_kinds_volume_that_an_extra_service_also_mounts_stays_the_kinds() -> None:
    extra = {"extra": {"sidecar": {"image": "busybox:1.36", "volumes": ["prometheus-data:/p"]}}}
    parts = by_id(data_of(extra))
    assert "volume/prometheus-data" not in parts
    assert parts["prometheus"].services == ("prometheus", "sidecar")


def test_volume_names_as_docker_knows_them() -> None:
    assert volume_name("data", "beast", None) == "beast_data"
    assert volume_name("data", "beast", {"name": "real"}) == "real"
    assert volume_name("data", "beast", {"external": True}) == "data"
    assert volume_name("data", "beast", {"external": {"name": "old_data"}}) == "old_data"


def test_the_helper_image_is_prometheus_else_another_busybox_image() -> None:
    compose = {
        "services": {
            "grafana": {"image": "g", "labels": {"org.beast-observatory.kind": "grafana"}},
            "pg": {"image": "p", "labels": {"org.beast-observatory.kind": "pushgateway"}},
            "db": {"image": "postgres", "volumes": ["pg:/var/lib/postgresql/data"]},
        },
        "volumes": {"pg": None},
    }
    assert stack_data(compose, "x", {}).helper_image == "p"
    del compose["services"]["pg"]
    assert stack_data(compose, "x", {}).helper_image == "g"
    del compose["services"]["grafana"]
    assert stack_data(compose, "x", {}).helper_image is None


def test_a_backup_of_remote_goes_onto_locals_volumes_by_kind_and_volume_key() -> None:
    remote = data_of({"alertmanager": {"enabled": True}, **EXTRA}, volumes=VOLUMES)
    local = StackData(
        "beast-local",
        (
            DataPart("prometheus", "volume", "beast-local_prometheus-data"),
            DataPart("grafana", "path", "/home/herbert/grafana"),
            DataPart("volume/vm-data", "volume", "beast-local_vm-data"),
        ),
    )
    placed, notes = place([p.id for p in remote.parts], local)
    assert [(p.archived, p.target.source) for p in placed] == [
        ("grafana", "/home/herbert/grafana"),
        ("prometheus", "beast-local_prometheus-data"),
        ("volume/vm-data", "beast-local_vm-data"),
    ]
    assert notes == [
        "alertmanager: the target has no such data: not restored",
        "pushgateway: the target has no such data: not restored",
        "volume/shared: the target has no such data: not restored",
    ]
    _, notes = place(["prometheus"], local)
    assert "grafana (directory /home/herbert/grafana): the archive has nothing for it" in notes[0]
