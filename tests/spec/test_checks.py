"""Checks across the spec's services (spec/checks.py): ports, names, networks and volumes,
secrets in environments, values compose cannot interpolate."""

from __future__ import annotations

from typing import Any

import pytest

from beast_observatory.spec.checks import (
    check_environment_secrets,
    check_interpolation,
    check_networks_and_volumes,
    check_ports,
    check_service_names,
    dotted,
    host_port,
)
from bundles import spec_data, stack_of


def messages(check: Any, services: dict[str, Any], **top: Any) -> list[tuple[str, str]]:
    return [(dotted(p.path), p.message) for p in check(stack_of(spec_data(services, **top)))]


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "$$5",
        "${A}",
        "${A:-x}",
        "${A-x}",
        "${A:?set A (a secret) in .env}",
        "$A",
        "a $${B} c",
    ],
)
def test_values_compose_can_interpolate(value: str) -> None:
    assert messages(check_interpolation, {"pushgateway": {"environment": {"X": value}}}) == []


@pytest.mark.parametrize("value", ["5$", "$ 5", "${}", "${1A}", "${A", "a$-b"])
def test_a_dollar_compose_cannot_read(value: str) -> None:
    assert messages(check_interpolation, {"pushgateway": {"environment": {"X": value}}}) == [
        ("services.pushgateway.environment.X", "holds a `$` compose cannot read as a variable")
    ]


def test_every_value_written_into_the_compose_file_is_checked() -> None:
    found = messages(
        check_interpolation,
        {
            "prometheus": {
                "extra_flags": ["--web.external-url=http://x/$"],
                "compose": {"labels": {"a": "$"}},
            },
            "pushgateway": {"healthcheck": {"test": ["CMD-SHELL", "test $ -eq 1"]}},
            "extra": {"web": {"image": "nginx", "command": ["echo", "$"]}},
        },
    )
    assert [path for path, _ in found] == [
        "services.prometheus.extra_flags[0]",
        "services.prometheus.compose.labels.a",
        "services.pushgateway.healthcheck.test[1]",
        "services.extra.web.command[1]",
    ]


@pytest.mark.parametrize(
    ("entry", "port"),
    [
        ("127.0.0.1:9090:9090", 9090),
        ("9091:9091/udp", 9091),
        ("9093", None),
        ({"published": 80, "target": 8080}, 80),
        ({"target": 1}, None),
        ("[::1]:443:8443", 443),
    ],
)
def test_host_ports(entry: object, port: int | None) -> None:
    assert host_port(entry) == port


def test_a_host_port_is_published_once() -> None:
    found = messages(
        check_ports,
        {
            "grafana": {"port": 9091},
            "extra": {"web": {"image": "nginx", "ports": ["127.0.0.1:9090:80"]}},
        },
    )
    assert found == [
        ("services.grafana.port", "host port 9091 is already used by services.pushgateway.port"),
        (
            "services.extra.web.ports[0]",
            "host port 9090 is already used by services.prometheus.port",
        ),
    ]
    assert messages(check_ports, {"grafana": {"publish": False, "port": 9090}}) == []


def test_two_services_of_one_name_are_one_compose_service() -> None:
    found = messages(
        check_service_names,
        {"grafana": {"service_name": "prometheus"}, "extra": {"pushgateway": {"image": "x"}}},
    )
    assert found == [
        ("services.grafana.service_name", "service name 'prometheus' is also services.prometheus"),
        ("services.extra.pushgateway", "service name 'pushgateway' is also services.pushgateway"),
    ]


def test_networks_and_volumes_must_be_declared_data_volumes_need_not() -> None:
    found = messages(
        check_networks_and_volumes,
        {
            "prometheus": {
                "volumes": ["cache:/cache", "./conf:/conf", "/srv:/srv"],
                "data": {"volume": "tsdb"},
            },
            "extra": {
                "web": {
                    "image": "nginx",
                    "networks": ["edge"],
                    "volumes": [{"type": "volume", "source": "www", "target": "/www"}],
                }
            },
        },
    )
    assert found == [
        ("services.extra.web.networks", "network 'edge' is not declared"),
        ("services.prometheus.volumes", "named volume 'cache' is not declared"),
        ("services.extra.web.volumes", "named volume 'www' is not declared"),
    ]
    host = {"extra": {"web": {"image": "nginx", "network_mode": "host", "networks": ["edge"]}}}
    assert messages(check_networks_and_volumes, host) == []


def test_a_literal_secret_in_an_environment_in_either_form() -> None:
    found = messages(
        check_environment_secrets,
        {
            "grafana": {"environment": {"GF_DATABASE_PASSWORD": "hunter2", "GF_LOG_LEVEL": "warn"}},
            "extra": {
                "db": {
                    "image": "postgres",
                    "environment": ["POSTGRES_PASSWORD=pw", "POSTGRES_USER=u", "REF_PASSWORD=${X}"],
                },
                "app": {"image": "app", "labels": {"vault.token": "s.abc"}},
            },
        },
    )
    assert found == [
        ("services.grafana.environment.GF_DATABASE_PASSWORD", "holds a literal secret"),
        ("services.extra.app.labels.vault.token", "holds a literal secret"),
        ("services.extra.db.environment[0]", "holds a literal secret"),
    ]
