"""The compose service every known kind shares (kinds/service.py, kinds/model.py): what the
typed fields render to, and what the compose pass-through may and may not say."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from beast_observatory.kinds.model import ServiceBase
from beast_observatory.kinds.pushgateway.model import Pushgateway
from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data
from inventory_builder import BCRYPT

LABEL = "org.beast-observatory"


def service(
    name: str, section: dict[str, Any], assets: dict[str, bytes] | None = None, **top: Any
) -> dict[str, Any]:
    data = spec_data({name: section}, **top)
    compose = load_yaml(render(data, assets).files["docker-compose.yml"])
    out: dict[str, Any] = compose["services"][section.get("service_name", name)]
    return out


def test_the_kinds_own_healthcheck_when_the_spec_gives_no_test() -> None:
    check = service("pushgateway", {})["healthcheck"]
    assert check == {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9091/-/ready"],
        "interval": "15s",
        "timeout": "5s",
        "retries": 5,
        "start_period": "20s",
    }
    tuned = service("pushgateway", {"healthcheck": {"interval": "1m"}})["healthcheck"]
    assert (tuned["interval"], tuned["retries"]) == ("1m", 5)


def test_an_explicit_healthcheck_is_exactly_what_is_given() -> None:
    check = {"test": ["CMD-SHELL", "true"], "retries": 2}
    assert service("pushgateway", {"healthcheck": check})["healthcheck"] == check
    assert service("pushgateway", {"healthcheck": {"test": "true"}})["healthcheck"] == {
        "test": "true"
    }
    assert service("pushgateway", {"healthcheck": {"disable": True}})["healthcheck"] == {
        "disable": True
    }
    assert "healthcheck" not in service("pushgateway", {"healthcheck": None})


def test_behind_basic_auth_the_check_accepts_401_and_holds_no_password() -> None:
    check = service("pushgateway", {"web_auth": {"username": "u", "password_hash": BCRYPT}})[
        "healthcheck"
    ]
    assert check["test"][0] == "CMD-SHELL"
    assert "grep -qE '^$$|401'" in check["test"][1]  # $$: compose's escape for $


def test_labels_say_the_kind_where_it_is_ready_and_keep_the_authors() -> None:
    labels = service(
        "prometheus",
        {"compose": {"labels": ["team=obs", f"{LABEL}.kind=forged"]}},
    )["labels"]
    assert labels["team"] == "obs"
    assert labels[f"{LABEL}.kind"] == "prometheus"  # the tool's labels win
    assert labels[f"{LABEL}.ready"] == "http://127.0.0.1:9090/-/ready"
    assert labels[f"{LABEL}.service"] == "prometheus"
    assert labels[f"{LABEL}.project"] == "beast"


def test_published_ports_from_port_publish_and_bind_address_or_ports() -> None:
    assert service("pushgateway", {})["ports"] == ["127.0.0.1:9091:9091"]
    assert service("pushgateway", {"bind_address": "10.0.0.5", "port": 19091})["ports"] == [
        "10.0.0.5:19091:9091"
    ]
    assert "ports" not in service("pushgateway", {"publish": False})
    ports = ["9091:9091/tcp", {"target": 9091, "published": 29091, "host_ip": "0.0.0.0"}]  # noqa: S104 - data
    assert service("pushgateway", {"ports": ports})["ports"] == ports


def test_data_is_a_named_volume_a_host_path_or_nothing() -> None:
    data = spec_data({"pushgateway": {}})
    compose = load_yaml(render(data).files["docker-compose.yml"])
    assert "pushgateway-data:/pushgateway" in compose["services"]["pushgateway"]["volumes"]
    assert "pushgateway-data" in compose["volumes"]
    bound = service("pushgateway", {"data": {"path": "/srv/pg", "target": "/data"}})
    assert "/srv/pg:/data" in bound["volumes"]
    assert "volumes" not in service("pushgateway", {"data": None})


def test_shipped_files_are_in_the_bundle_and_in_the_restart_hash() -> None:
    section = {"volumes": ["./conf/extra.yml:/etc/extra.yml:ro", "/srv/logs:/logs"]}
    first = render(spec_data({"pushgateway": section}), {"conf/extra.yml": b"a: 1\n"})
    svc = load_yaml(first.files["docker-compose.yml"])["services"]["pushgateway"]
    assert "./files/conf/extra.yml:/etc/extra.yml:ro" in svc["volumes"]
    assert "/srv/logs:/logs" in svc["volumes"]  # a host path stays where it is
    assert first.files["files/conf/extra.yml"] == b"a: 1\n"
    second = render(spec_data({"pushgateway": section}), {"conf/extra.yml": b"a: 2\n"})
    again = load_yaml(second.files["docker-compose.yml"])["services"]["pushgateway"]
    hash_label = f"{LABEL}.restart-hash"
    assert again["labels"][hash_label] != svc["labels"][hash_label]


def test_networks_as_a_list_or_a_mapping_with_aliases() -> None:
    nets = {"observatory": {"aliases": ["pgw"]}, "edge": None}
    svc = service("pushgateway", {"networks": nets}, networks={"observatory": {}, "edge": {}})
    assert svc["networks"] == {"edge": None, "observatory": {"aliases": ["pgw"]}}
    assert service("pushgateway", {})["networks"] == ["observatory"]


def test_the_compose_pass_through_is_written_as_it_is() -> None:
    svc = service(
        "pushgateway",
        {
            "compose": {
                "container_name": "pgw",
                "user": "65534",
                "x-owner": "ci",
                "logging": {"driver": "local"},
            }
        },
    )
    assert (svc["container_name"], svc["user"], svc["x-owner"]) == ("pgw", "65534", "ci")
    assert svc["logging"] == {"driver": "local"}
    assert list(svc)[:2] == ["image", "container_name"]  # reviewer-friendly order


@pytest.mark.parametrize(
    ("compose", "message"),
    [
        ({"no_such_key": 1}, "no_such_key: not a compose service key"),
        ({"image": "x"}, "image: set by the service's own fields"),
        ({"ports": []}, "ports: set by the service's own fields"),
    ],
)
def test_the_compose_pass_through_refuses_unknown_and_owned_keys(
    compose: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Pushgateway(compose=compose)


@pytest.mark.parametrize(
    "restart", ["no", "always", "unless-stopped", "on-failure", "on-failure:5"]
)
def test_restart_policies_compose_knows(restart: str) -> None:
    assert service("pushgateway", {"restart": restart})["restart"] == restart


def test_an_unknown_restart_policy_is_refused() -> None:
    with pytest.raises(ValidationError):
        ServiceBase(image="x", container_port=1, restart="sometimes")
