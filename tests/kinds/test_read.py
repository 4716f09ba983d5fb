"""What every service has, read back from a running container (kinds/read.py, kinds/identity.py):
ports, restart, healthcheck, environment, mounts, networks and the compose pass-through come
back as the spec wrote them, for a known kind and for an extra service."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.discover.export import export_spec
from beast_observatory.host.probe.inventory import Attachment, Healthcheck
from bundles import render, spec_data, stack_of
from inventory_builder import anonymous, bind, container, inventory, published, volume
from roundtrip import differences, exported_services, read_back
from strategies import compose_keys, healthchecks, networks, restarts

EXAMPLES = settings(max_examples=40, deadline=None)


def pushgateway_spec(section: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    return spec_data(
        {
            "pushgateway": section,
            "grafana": {"enabled": False},
            "prometheus": {"networks": sorted(declared)},
        },
        networks=declared,
    )


@EXAMPLES
@given(
    compose=compose_keys,
    nets=networks(),
    check=healthchecks,
    restart=restarts,
    env=st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True).filter(
            lambda k: "PASS" not in k and "KEY" not in k
        ),
        st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
        max_size=2,
    ),
)
def test_a_known_kinds_compose_service_comes_back(
    compose: dict[str, Any],
    nets: tuple[Any, dict[str, Any]],
    check: dict[str, Any] | None,
    restart: str,
    env: dict[str, str],
) -> None:
    attached, declared = nets
    section = {
        "compose": compose,
        "networks": attached,
        "healthcheck": check,
        "restart": restart,
        "environment": env,
        "resources": {"cpus": 0.5, "memory": "256m"},
        "ports": ["127.0.0.1:19091:9091", "127.0.0.1:19092:9091"],
    }
    data = pushgateway_spec(section, declared)
    original = stack_of(data).services.pushgateway
    back = exported_services(read_back(render(data))).pushgateway
    assert back.compose == original.compose
    assert back.restart == original.restart
    assert back.environment == original.environment
    assert back.resources == original.resources
    assert back.ports == original.ports
    # A mapping without settings is the list of its names, as compose reads both.
    want = original.networks
    if isinstance(want, dict) and not any(want.values()):
        want = sorted(want)
    assert back.networks == want
    if check is None or check.get("test") or check.get("disable"):
        assert back.healthcheck == original.healthcheck


@EXAMPLES
@given(compose=compose_keys, nets=networks(), check=healthchecks, restart=restarts)
def test_a_known_kind_read_back_and_rendered_again_is_the_same(
    compose: dict[str, Any],
    nets: tuple[Any, dict[str, Any]],
    check: dict[str, Any] | None,
    restart: str,
) -> None:
    attached, declared = nets
    section = {"compose": compose, "networks": attached, "healthcheck": check, "restart": restart}
    assert differences(render(pushgateway_spec(section, declared))) == {}


@EXAMPLES
@given(compose=compose_keys, nets=networks(), check=healthchecks, restart=restarts)
def test_an_extra_service_comes_back_as_its_fragment(
    compose: dict[str, Any],
    nets: tuple[Any, dict[str, Any]],
    check: dict[str, Any] | None,
    restart: str,
) -> None:
    attached, declared = nets
    fragment: dict[str, Any] = {
        "image": "nginx:1.27",
        "command": ["nginx", "-g", "daemon off;"],
        "ports": ["127.0.0.1:8080:80"],
        "environment": {"MODE": "web"},
        "volumes": ["cache:/var/cache/nginx", "/srv/www:/usr/share/nginx/html:ro"],
        "networks": attached,
        "restart": restart,
        **compose,
    }
    if check:
        fragment["healthcheck"] = check
    data = spec_data(
        {
            "extra": {"web": fragment},
            "prometheus": {"networks": sorted(declared)},
            "pushgateway": {"enabled": False},
            "grafana": {"enabled": False},
        },
        networks=declared,
        volumes={"cache": {}},
    )
    bundle = render(data)
    back = exported_services(read_back(bundle)).extra["web"]
    original = stack_of(data).services.extra["web"]
    for key in ("image", "command", "ports", "environment", "restart", *compose):
        assert back.get(key) == original.get(key), key
    # Mounts in the order docker lists them: their order means nothing to docker.
    assert sorted(back["volumes"]) == sorted(original["volumes"])
    assert differences(bundle) == {}


def test_ports_are_a_port_when_published_once_else_compose_entries() -> None:
    one = container("pushgateway", "prom/pushgateway", ports=published(9091, 19091, "10.0.0.5"))
    prom = container(
        "prometheus", "prom/prometheus", ports={**published(9090, 9090), **published(9095, 9095)}
    )
    two = container(
        "pushgateway",
        "prom/pushgateway",
        ports={**published(9091, 19091), **published(9092, 19092)},
    )
    none = container("pushgateway", "prom/pushgateway")

    def pushgateway(c: Any) -> dict[str, Any]:
        services = exported_services(export_spec(inventory(prom, c)))
        return services.pushgateway.model_dump(include={"port", "bind_address", "ports", "publish"})

    assert pushgateway(one) == {
        "port": 19091,
        "bind_address": "10.0.0.5",  # not the stack's 127.0.0.1
        "ports": None,
        "publish": True,
    }
    assert pushgateway(two)["ports"] == ["127.0.0.1:19091:9091", "127.0.0.1:19092:9092"]
    assert pushgateway(none)["publish"] is False


def test_the_hosts_healthcheck_is_kept_and_none_is_none() -> None:
    checked = container(
        "pushgateway",
        "prom/pushgateway",
        healthcheck=Healthcheck(
            ("CMD", "wget", "-qO-", "localhost:9091/-/ready"), "30s", "5s", None, 3
        ),
    )
    disabled = container("alertmanager", "prom/alertmanager", healthcheck=Healthcheck(("NONE",)))
    prom = container("prometheus", "prom/prometheus")
    s = exported_services(export_spec(inventory(prom, checked, disabled)))
    assert s.pushgateway.healthcheck is not None
    assert s.pushgateway.healthcheck.model_dump(exclude_none=True, exclude={"disable"}) == {
        "test": ["CMD", "wget", "-qO-", "localhost:9091/-/ready"],
        "interval": "30s",
        "timeout": "5s",
        "retries": 3,
    }
    assert s.alertmanager.healthcheck is not None
    assert s.alertmanager.healthcheck.disable is True
    assert s.prometheus.healthcheck is None


def test_mounts_data_and_networks_of_a_hand_made_container() -> None:
    prom = container(
        "prometheus",
        "prom/prometheus",
        mounts=[
            volume("tsdb", "/prometheus"),
            bind("/etc/localtime", "/etc/localtime", rw=False),
            anonymous("/tmp/scratch"),
        ],
        networks=[
            Attachment("beast_default", ("prometheus", "prom", "metrics")),
            Attachment("beast_edge", ipv4_address="172.20.0.10"),
        ],
    )
    result = export_spec(inventory(prom))
    p = exported_services(result).prometheus
    assert p.data is not None
    assert p.data.volume == "beast_tsdb"
    assert p.volumes == ["/etc/localtime:/etc/localtime:ro", "/tmp/scratch"]
    assert p.networks == {
        "beast_default": {"aliases": ["metrics", "prom"]},
        "beast_edge": {"ipv4_address": "172.20.0.10"},
    }


def test_network_modes_are_compose_network_modes() -> None:
    prom = container("prometheus", "prom/prometheus", networks=[])
    sidecar = container(
        "sidecar",
        "busybox",
        networks=[],
        host_config={"network_mode": f"container:{prom.id}"},
    )
    alone = container("alone", "busybox", networks=["bridge"])
    result = export_spec(inventory(prom, sidecar, alone))
    extra = exported_services(result).extra
    assert extra["sidecar"]["network_mode"] == "service:prometheus"
    assert extra["alone"]["network_mode"] == "bridge"
    assert "networks" not in extra["sidecar"]


def test_a_bind_mounted_file_with_a_redacted_secret_stays_the_hosts_file() -> None:
    receiver = container(
        "receiver",
        "busybox",
        mounts=[
            bind("/srv/receiver/httpd.conf", "/etc/httpd.conf", rw=False),
            bind("/srv/receiver/index.html", "/www/index.html", rw=False),
        ],
    )
    files = {
        receiver.name: {
            "/etc/httpd.conf": "/:alert:<redacted sha256:29fb500bc472>\n",
            "/www/index.html": "<p>ok</p>\n",
        }
    }
    prom = container("prometheus", "prom/prometheus")
    result = export_spec(inventory(prom, receiver, files=files))
    volumes = exported_services(result).extra["receiver"]["volumes"]
    # a copy would hold a placeholder where the host's file has the password
    assert "/srv/receiver/httpd.conf:/etc/httpd.conf:ro" in volumes
    assert not [f for f in result.files if f.endswith("httpd.conf")]
    assert any(v.endswith(":/www/index.html:ro") and v.startswith("./") for v in volumes)
    said = "httpd.conf (at /etc/httpd.conf) stays a file on the host"
    assert any(said in n for n in result.notes)
