"""What a fleet renders: the file_sd files and scrape jobs of the environment's Prometheus, and
each host's exporters bundle; the real tools (promtool, compose) accept both."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.deploy.target import ConnectOptions, placement
from beast_observatory.fleet.bundles import HostBundle, render_fleet
from bundles import render, spec_data, stack_of
from external_tools import check_prometheus, compose, compose_config

from .specs import HOSTS, STANDIN, fleet_data

ASSETS = {"standin/metrics": b"standin_up 1\n"}


def fleet_of(data: dict[str, Any]) -> dict[str, HostBundle]:
    stack = stack_of(data, "remote")
    from bundles import matches_of  # noqa: PLC0415

    hosts = render_fleet(stack, ASSETS, matches_of(stack, ASSETS))
    return {h.member.name: h for h in hosts}


def file_sd(bundle: Bundle, name: str = "node-exporter") -> Any:
    return json.loads(bundle.files[f"prometheus/fleet/{name}.json"])


def scrape_configs(bundle: Bundle) -> dict[str, Any]:
    config = yaml.safe_load(bundle.files["prometheus/prometheus.yml"])
    return {job["job_name"]: job for job in config["scrape_configs"]}


def compose_file(host: HostBundle) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(host.bundle.files["docker-compose.yml"])
    return data


def test_file_sd_has_every_host_with_its_labels() -> None:
    bundle = render(fleet_data(labels={"env": "prod"}), env="remote")
    assert file_sd(bundle) == [
        {
            "targets": ["10.0.0.2:9100"],
            "labels": {"env": "prod", "host": "fleet-a", "role": "db", "site": "ams"},
        },
        {"targets": ["10.0.0.3:9100"], "labels": {"env": "prod", "host": "fleet-b", "site": "ams"}},
        {"targets": ["10.0.0.4:9100"], "labels": {"env": "prod", "host": "fleet-c", "site": "fra"}},
    ]
    assert bundle.files["prometheus/fleet/node-exporter.json"].endswith(b"]\n")


def test_each_exporter_has_a_job_reading_its_file() -> None:
    no_standin = {"extra": {"standin": {"enabled": False}}}
    hosts = {**HOSTS, "fleet-c": {"address": "10.0.0.4", "exporters": no_standin}}
    exporters = {
        "node_exporter": {"scrape": {"scrape_interval": "30s"}},
        "extra": {"standin": {**STANDIN, "job": "standin", "metrics_path": "/m"}},
    }
    bundle = render(fleet_data(hosts, exporters=exporters), ASSETS, env="remote")
    jobs = scrape_configs(bundle)
    assert jobs["fleet-node-exporter"] == {
        "job_name": "fleet-node-exporter",
        "scrape_interval": "30s",
        "file_sd_configs": [{"files": ["/etc/prometheus/fleet/node-exporter.json"]}],
    }
    assert jobs["standin"] == {
        "job_name": "standin",
        "metrics_path": "/m",
        "file_sd_configs": [{"files": ["/etc/prometheus/fleet/standin.json"]}],
    }
    assert [g["labels"]["host"] for g in file_sd(bundle, "standin")] == ["fleet-a", "fleet-b"]
    assert [g["targets"] for g in file_sd(bundle, "standin")] == [
        ["10.0.0.2:9180"],
        ["10.0.0.3:9180"],
    ]


def test_a_host_scraped_elsewhere_says_so_in_its_own_labels() -> None:
    hosts = {
        "a": {"address": "a.example.net", "exporters": {"node_exporter": {"port": 9200}}},
        "b": {"address": "fd00::2", "exporters": {"extra": {"standin": {"metrics_path": "/x"}}}},
    }
    data = fleet_data(hosts, exporters={"extra": {"standin": STANDIN}})
    bundle = render(data, ASSETS, env="remote")
    assert [g["targets"] for g in file_sd(bundle)] == [
        ["a.example.net:9200"],
        ["[fd00::2]:9100"],
    ]
    [a, b] = file_sd(bundle, "standin")
    assert "__metrics_path__" not in a["labels"]
    assert b["labels"]["__metrics_path__"] == "/x"


def test_the_config_dir_of_prometheus_is_where_the_files_are_read() -> None:
    data = fleet_data()
    data["services"] = {"prometheus": {"config_dir": "/config"}}
    files = scrape_configs(render(data, env="remote"))["fleet-node-exporter"]["file_sd_configs"]
    assert files == [{"files": ["/config/fleet/node-exporter.json"]}]


def test_an_environment_without_a_fleet_renders_as_before() -> None:
    without = render(spec_data(), env="remote")
    assert not [p for p in without.files if p.startswith("prometheus/fleet/")]
    assert not [j for j in scrape_configs(without) if j.startswith("fleet-")]
    assert render(fleet_data(), env="local").files == render(spec_data(), env="local").files


def test_without_prometheus_there_is_nothing_to_write_for_it() -> None:
    data = fleet_data()
    data["environments"]["remote"]["services"] = {"prometheus": {"enabled": False}}
    assert not [p for p in render(data, env="remote").files if "fleet" in p]


subsets = st.sets(st.sampled_from(sorted(HOSTS)), min_size=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=subsets, after=subsets)
def test_hosts_coming_and_going_change_only_the_file_sd_files(
    before: set[str], after: set[str]
) -> None:
    exporters = {"extra": {"standin": STANDIN}}

    def bundle(names: set[str]) -> Bundle:
        hosts = {n: HOSTS[n] for n in names}
        return render(fleet_data(hosts, exporters=exporters), ASSETS, env="remote")

    old, new = bundle(before).files, bundle(after).files
    assert set(old) == set(new)
    changed = {p for p in old if old[p] != new[p]}
    assert changed <= {"prometheus/fleet/node-exporter.json", "prometheus/fleet/standin.json"}
    assert (changed != set()) == (before != after)


def test_promtool_accepts_the_jobs_and_the_file_sd_files() -> None:
    hosts = {**HOSTS, "v6": {"address": "fd00::9", "labels": {"site": "ber"}}}
    data = fleet_data(hosts, exporters={"extra": {"standin": STANDIN}})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        for rel, content in render(data, ASSETS, env="remote").files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(content)
        (Path(tmp) / "scratch").mkdir()
        check_prometheus(out, Path(tmp) / "scratch")
        # promtool reads the file_sd files too: a bad one fails the check
        (out / "prometheus/fleet/standin.json").write_text('[{"targets": "not a list"}]')
        copy = Path(tmp) / "again"
        copy.mkdir()
        bad = subprocess.run(
            ["promtool", "check", "config", str(_copied(out, copy))],
            capture_output=True,
            text=True,
            check=False,
        )
        assert bad.returncode != 0, bad.stdout


def _copied(out: Path, scratch: Path) -> Path:
    import shutil  # noqa: PLC0415

    shutil.copytree(out / "prometheus", scratch / "prometheus")
    config = scratch / "prometheus/prometheus.yml"
    config.write_text(config.read_text().replace("/etc/prometheus", str(scratch / "prometheus")))
    return config


# ----------------------------------------------------------------- each host's bundle


def test_each_host_runs_its_exporters_in_a_compose_project_of_their_own() -> None:
    hosts = {
        "fleet-a": {"address": "10.0.0.2"},
        "fleet-b": {
            "address": "10.0.0.3",
            "bind_address": "10.0.0.3",
            "exporters": {
                "node_exporter": {"port": 9200},
                "extra": {"standin": {"enabled": False}},
            },
        },
    }
    found = fleet_of(fleet_data(hosts, exporters={"extra": {"standin": STANDIN}}))
    a, b = found["fleet-a"], found["fleet-b"]
    assert a.bundle.project == "beast-exporters"
    assert a.stack.deploy_dir == "/opt/observatory/beast-exporters"
    assert sorted(compose_file(a)["services"]) == ["node-exporter", "standin"]
    assert sorted(compose_file(b)["services"]) == ["node-exporter"]
    assert compose_file(a)["services"]["node-exporter"]["ports"] == ["0.0.0.0:9100:9100"]
    assert compose_file(b)["services"]["node-exporter"]["ports"] == ["10.0.0.3:9200:9100"]
    standin = compose_file(a)["services"]["standin"]
    assert standin["ports"] == ["0.0.0.0:9180:8080"]
    assert standin["restart"] == "unless-stopped"
    assert standin["volumes"] == ["./files/standin:/www:ro"]
    assert standin["labels"]["org.beast-observatory.ready"] == "http://127.0.0.1:8080/metrics"
    assert a.bundle.files["files/standin/metrics"] == ASSETS["standin/metrics"]
    assert "files/standin/metrics" not in b.bundle.files
    # nothing of the environment's own stack goes to the fleet's hosts
    assert not [p for p in a.bundle.files if p.startswith(("prometheus/", "grafana/"))]


def test_an_exporter_that_says_how_it_is_reached_is_left_so() -> None:
    exporters = {
        "extra": {
            "own-ports": {"service": {"image": "x:1", "ports": ["9300:9300"]}, "port": 9300},
            "host-net": {
                "service": {"image": "y:1", "network_mode": "host", "restart": "always"},
                "port": 9301,
            },
        }
    }
    services = compose_file(fleet_of(fleet_data({"a": {}}, exporters=exporters))["a"])["services"]
    assert services["own-ports"]["ports"] == ["9300:9300"]
    assert "ports" not in services["host-net"]
    assert services["host-net"]["restart"] == "always"


def test_a_hosts_deploy_dir_and_ssh_settings_place_its_bundle() -> None:
    hosts = {
        "a": {"ssh": {"host": "a.example.net", "user": "deploy", "port": 2200}},
        "b": {"deploy_dir": "/srv/exporters"},
    }
    found = fleet_of(fleet_data(hosts, deploy_dir="/opt/exp"))
    a = placement(found["a"].stack, ConnectOptions())
    b = placement(found["b"].stack, ConnectOptions(known_hosts=Path("/k")))
    assert (a.target.host, a.target.user, a.target.port) == ("a.example.net", "deploy", 2200)
    assert (a.directory, a.lock_path) == ("/opt/exp", "/opt/exp/.observatory.lock")
    assert (b.target.host, b.directory, b.remote) == ("b", "/srv/exporters", True)
    assert b.target.known_hosts_path == Path("/k")


def test_host_bundles_are_deterministic_and_compose_accepts_them(tmp_path: Path) -> None:
    data = fleet_data(exporters={"extra": {"standin": STANDIN}})
    first, again = fleet_of(data), fleet_of(data)
    assert {n: h.bundle for n, h in first.items()} == {n: h.bundle for n, h in again.items()}
    for name, host in first.items():
        out = tmp_path / name
        for rel, content in host.bundle.files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(content)
        result = compose_config(compose(), out / "docker-compose.yml", {})
        assert result.returncode == 0, result.stderr
