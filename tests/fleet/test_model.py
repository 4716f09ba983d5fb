"""The fleet in the spec: what a host gets by default, how its overrides merge, what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from beast_observatory.errors import SpecError
from beast_observatory.fleet.resolve import members, select
from beast_observatory.spec.load import parse_spec
from beast_observatory.yamlio import dump_yaml

from .specs import STANDIN, fleet_data


def fleet_members(data: dict[str, Any]) -> dict[str, Any]:
    spec = parse_spec(dump_yaml(data), "observatory.yaml")
    return {m.name: m for m in members(spec.environments["remote"].fleet)}


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(dump_yaml(data), "observatory.yaml")
    return caught.value.message


def test_a_host_named_only_is_reached_and_scraped_by_its_name() -> None:
    web = fleet_members(fleet_data({"web-1": {}}))["web-1"]
    assert web.ssh.host == "web-1"
    assert web.address == "web-1"
    assert dict(web.labels) == {"host": "web-1"}
    assert web.bind_address == "0.0.0.0"  # noqa: S104 - the default a user reads
    [node] = web.scraped()
    assert (node.name, node.job, node.port, node.metrics_path) == (
        "node-exporter",
        "fleet-node-exporter",
        9100,
        "/metrics",
    )


def test_ssh_settings_and_address_are_the_hosts_own() -> None:
    data = fleet_data(
        {"db-1": {"ssh": {"host": "db-1.example.net", "user": "deploy", "port": 2222}}}
    )
    db = fleet_members(data)["db-1"]
    assert (db.ssh.host, db.ssh.user, db.ssh.port) == ("db-1.example.net", "deploy", 2222)
    assert db.address == "db-1.example.net"


def test_labels_of_the_fleet_the_host_and_its_name() -> None:
    hosts = {"fleet-a": {"labels": {"site": "ams", "env": "staging"}}, "fleet-b": {}}
    found = fleet_members(fleet_data(hosts, labels={"env": "prod", "team": "ops"}))
    assert dict(found["fleet-a"].labels) == {
        "env": "staging",
        "host": "fleet-a",
        "site": "ams",
        "team": "ops",
    }
    assert dict(found["fleet-b"].labels) == {"env": "prod", "host": "fleet-b", "team": "ops"}


def test_a_hosts_overrides_merge_onto_the_fleets_exporters() -> None:
    hosts = {
        "fleet-a": {},
        "fleet-b": {
            "exporters": {
                "node_exporter": {"port": 9200, "extra_flags": ["--collector.systemd"]},
                "extra": {
                    "standin": {"enabled": False},
                    "postgres": {"service": {"image": "pg-exporter:1"}, "port": 9187},
                },
            }
        },
    }
    exporters = {
        "node_exporter": {"extra_flags": ["--collector.cpu"]},
        "extra": {"standin": STANDIN},
    }
    found = fleet_members(fleet_data(hosts, exporters=exporters))
    a, b = found["fleet-a"].exporters, found["fleet-b"].exporters
    assert (a.node_exporter.port, a.node_exporter.extra_flags) == (9100, ["--collector.cpu"])
    assert (b.node_exporter.port, b.node_exporter.extra_flags) == (9200, ["--collector.systemd"])
    assert [(e.name, e.port) for e in found["fleet-a"].scraped()] == [
        ("node-exporter", 9100),
        ("standin", 9180),
    ]
    assert [(e.name, e.port) for e in found["fleet-b"].scraped()] == [
        ("node-exporter", 9200),
        ("postgres", 9187),
    ]
    # the override of one host leaves the others' exporters as the fleet says
    assert b.extra["postgres"].job is None
    assert "postgres" not in a.extra


def test_a_host_override_of_a_compose_fragment_merges_key_by_key() -> None:
    hosts = {"fleet-a": {"exporters": {"extra": {"standin": {"service": {"user": "65534"}}}}}}
    found = fleet_members(fleet_data(hosts, exporters={"extra": {"standin": STANDIN}}))
    service = found["fleet-a"].exporters.extra["standin"].service
    assert service["user"] == "65534"
    assert service["image"] == STANDIN["service"]["image"]


@pytest.mark.parametrize(
    ("hosts", "fleet", "words"),
    [
        ({"a": {"labels": {"host": "x"}}}, {}, "label host: set by the fleet itself"),
        ({"a": {"labels": {"__scheme__": "https"}}}, {}, "label __scheme__"),
        ({"a": {}}, {"labels": {"job": "x"}}, "label job"),
        (
            {"a": {"exporters": {"node_exporter": {"job": "mine"}}}},
            {},
            "hosts.a.exporters: node_exporter.job: the same for every host",
        ),
        (
            {"a": {"exporters": {"node_exporter": {"port": 99999}}}},
            {},
            "hosts.a: exporters.node_exporter.port: Input should be less than or equal to 65535",
        ),
        (
            {"a": {"exporters": {"node_exporter": {"enabled": False}}}},
            {},
            "hosts.a: no exporter is enabled on this host",
        ),
        (
            {"a": {}},
            {"exporters": {"node_exporter": {"scrape": {"static_configs": []}}}},
            "static_configs: written by the fleet itself",
        ),
        (
            {"a": {}},
            {"exporters": {"node_exporter": {"scrape": {"scrape_intervall": "5s"}}}},
            "scrape_intervall: not a Prometheus scrape_config key",
        ),
        (
            {"a": {}},
            {"exporters": {"extra": {"x": {"service": {"imag": "y"}, "port": 1}}}},
            "imag: not a compose service key",
        ),
        (
            {"a": {}},
            {"exporters": {"extra": {"x": {"service": {"command": ["y"]}, "port": 1}}}},
            "the compose service needs an image",
        ),
    ],
)
def test_what_the_spec_refuses(hosts: dict[str, Any], fleet: dict[str, Any], words: str) -> None:
    message = refused(fleet_data(hosts, **fleet))
    assert words in message
    assert "observatory.yaml:" in message  # with the place in the file


def test_limit_picks_hosts_by_name_glob_or_label() -> None:
    found = list(fleet_members(fleet_data()).values())

    def names(*patterns: str) -> list[str]:
        return [m.name for m in select(found, patterns)]

    assert names() == ["fleet-a", "fleet-b", "fleet-c"]
    assert names("fleet-b") == ["fleet-b"]
    assert names("fleet-c,fleet-a") == ["fleet-a", "fleet-c"]
    assert names("fleet-[ab]") == ["fleet-a", "fleet-b"]
    assert names("site=ams") == ["fleet-a", "fleet-b"]
    assert names("site=fra", "role=db") == ["fleet-a", "fleet-c"]


def test_limit_naming_no_host_says_which_there_are() -> None:
    from beast_observatory.errors import ObservatoryError  # noqa: PLC0415

    found = list(fleet_members(fleet_data()).values())
    with pytest.raises(ObservatoryError) as caught:
        select(found, ["fleet-z"])
    assert "--limit fleet-z: matches no host" in caught.value.message
    assert "fleet-a, fleet-b, fleet-c" in str(caught.value.hint)
