"""Inventory -> spec (pure): what maps to which section, and what is said about the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from beast_observatory.discover.export import export_spec, select_project
from beast_observatory.discover.mapping import glob_segments, parse_flags
from beast_observatory.errors import ObservatoryError
from beast_observatory.spec.models import Spec

BCRYPT = "$2b$10$rDsVqzQQovpxejME4Q8dV.fBZLdZ.R7WSPEUevhixHNREQFOGABr6"
MARK = "<redacted sha256:0123456789ab>"


def record(
    content: str | None, host_path: str = "/srv/x", error: str | None = None
) -> dict[str, Any]:
    return {
        "host_path": host_path,
        "sha256": "00",
        "size": len(content or ""),
        "content": content,
        "error": error,
    }


def container(
    name: str,
    image: str,
    *,
    project: str | None = "beast",
    service: str | None = None,
    cmd: list[str] | None = None,
    env: dict[str, str] | None = None,
    ports: dict[str, Any] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    networks: list[str] | None = None,
    labels: dict[str, str] | None = None,
    entrypoint: list[str] | None = None,
) -> dict[str, Any]:
    all_labels = dict(labels or {})
    if project:
        all_labels |= {
            "com.docker.compose.project": project,
            "com.docker.compose.service": service or name,
        }
    return {
        "id": name * 3,
        "name": f"{project}-{service or name}-1" if project else name,
        "image": image,
        "image_id": "sha256:1",
        "repo_digests": [],
        "cmd": cmd or [],
        "entrypoint": entrypoint or [],
        "env": env or {},
        "labels": all_labels,
        "mounts": mounts or [],
        "ports": ports or {},
        "networks": networks if networks is not None else ["beast_monitoring"],
        "restart_policy": "unless-stopped",
        "healthcheck": {
            "test": ["CMD", "true"],
            "interval": "30s",
            "timeout": "5s",
            "start_period": None,
            "retries": 3,
        },
        "user": "",
        "state": {"status": "running", "health": None, "started_at": "", "pid": 1, "exit_code": 0},
    }


def publish(port: int, host_port: int, ip: str = "127.0.0.1") -> dict[str, Any]:
    return {f"{port}/tcp": [{"host_ip": ip, "host_port": str(host_port)}]}


def volume(name: str, dest: str, project: str = "beast") -> dict[str, Any]:
    return {
        "type": "volume",
        "source": f"/var/lib/docker/volumes/{project}_{name}/_data",
        "destination": dest,
        "rw": True,
        "name": f"{project}_{name}",
    }


PROMETHEUS_YML = """\
global: {scrape_interval: 20s, external_labels: {site: beast}, query_log_file: /q.log}
rule_files: [rules/*.yml, /etc/prometheus/extra/*.rules]
alerting: {alertmanagers: [{static_configs: [{targets: [alertmanager:9093]}]}]}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [localhost:9090]}]
  - job_name: pushgateway
    static_configs: [{targets: ['pushgw:9091']}]
  - job_name: nodes
    relabel_configs: [{source_labels: [__address__], target_label: host}]
    static_configs:
      - {targets: [a:9100], labels: {rack: one}}
      - {targets: [b:9100], labels: {rack: two}}
  - job_name: discovered
    file_sd_configs: [{files: [/x.json]}]
"""


def inventory() -> dict[str, Any]:
    prom = container(
        "prometheus",
        "prom/prometheus:v2.53.2",
        entrypoint=["/bin/prometheus"],
        cmd=[
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.size=20GB",
            "--web.config.file=/etc/prometheus/web.yml",
            "--web.enable-lifecycle",
        ],
        ports=publish(9090, 19090),
        mounts=[volume("prom-data", "/prometheus")],
    )
    pushgw = container(
        "pushgw",
        "prom/pushgateway:v1.9.0",
        cmd=["--persistence.file=/data/pg.db", "--web.enable-admin-api", "--log.level=debug"],
        ports=publish(9091, 19091, "0.0.0.0"),  # noqa: S104 - what the host publishes
        mounts=[volume("pg", "/pushgateway")],
    )
    grafana = container(
        "grafana",
        "grafana/grafana-oss:11.2.0",
        env={
            "GF_SECURITY_ADMIN_PASSWORD__FILE": "/run/secrets/admin",
            "GF_INSTALL_PLUGINS": "b-panel,a-panel",
            "GF_PATHS_DATA": "/var/lib/grafana",
            "GF_LOG_LEVEL": "warn",
            "GF_DATABASE_PASSWORD": MARK,
        },
        ports=publish(3000, 13000),
        mounts=[
            {
                "type": "bind",
                "source": "/srv/secrets/admin.txt",
                "destination": "/run/secrets/admin",
                "rw": False,
                "name": None,
            }
        ],
    )
    alertmanager = container(
        "alertmanager",
        "prom/alertmanager:v0.27.0",
        cmd=["--cluster.listen-address=0.0.0.0:9094"],
        ports=publish(9093, 19093),
    )
    worker = container(
        "worker",
        "busybox:1.36",
        cmd=["sleep", "infinity"],
        env={
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "API_TOKEN": MARK,
            "MODE": "batch",
        },
        labels={"beast.role": "worker", "vault.token": MARK},
        ports=publish(8080, 18080),
        networks=["beast_monitoring", "shared"],
        mounts=[
            {"type": "bind", "source": "/srv/w", "destination": "/w", "rw": False, "name": None},
            volume("cache", "/cache"),
        ],
    )
    other = container("prometheus", "prom/prometheus", project="zzz")
    return {
        "probe_version": 1,
        "host": {"hostname": "vonnegut", "kernel": "Linux"},
        "docker": {"available": True},
        "containers": [prom, pushgw, grafana, alertmanager, worker, other],
        "volumes": [
            {
                "name": f"beast_{v}",
                "driver": "local",
                "mountpoint": "/x",
                "labels": {"com.docker.compose.project": "beast", "com.docker.compose.volume": v},
            }
            for v in ("prom-data", "pg", "cache")
        ],
        "networks": [
            {
                "name": "beast_monitoring",
                "driver": "bridge",
                "internal": False,
                "labels": {
                    "com.docker.compose.project": "beast",
                    "com.docker.compose.network": "monitoring",
                },
            },
            {"name": "shared", "driver": "bridge", "internal": False, "labels": {}},
        ],
        "compose_projects": [],
        "config_files": {
            prom["name"]: {
                "/etc/prometheus/prometheus.yml": record(PROMETHEUS_YML),
                "/etc/prometheus/rules/alerts.yml": record("groups: []\n"),
                "/etc/prometheus/rules/sub/deeper.yml": record("groups: []\n"),
                "/etc/prometheus/extra/more.rules": record("groups: [{name: x, rules: []}]\n"),
                "/etc/prometheus/web.yml": record(f"basic_auth_users:\n  admin: {BCRYPT}\n"),
            },
            grafana["name"]: {
                "/etc/grafana/grafana.ini": record(
                    "app_mode = production\n[server]\nhttp_port = 3001\n[security]\n"
                    f"secret_key = {MARK}\nadmin_user = root\n"
                    "[users]\nallow_sign_up = false\n[log]\nlevel = warn\n"
                ),
                "/etc/grafana/provisioning/datasources/ds.yaml": record(
                    "datasources:\n"
                    "  - {name: Prometheus, type: prometheus, uid: prom,\n"
                    "     url: 'http://pushgw:9090', isDefault: true}\n"
                    "  - {name: Built-in, type: prometheus, uid: prometheus, url: 'http://prometheus:9090'}\n"
                    "  - {name: Bad, type: loki, uid: 'not valid!', url: 'http://l'}\n"
                ),
            },
            alertmanager["name"]: {
                "/etc/alertmanager/alertmanager.yml": record(
                    f"global:\n  slack_api_url: {MARK}\n"
                    "route: {receiver: r}\nreceivers: [{name: r}]\n"
                ),
            },
        },
        "directories": {},
        "apis": {},
        "problems": [],
    }


@pytest.fixture(scope="module")
def exported() -> tuple[dict[str, Any], Any]:
    result = export_spec(inventory(), environment="remote", ssh_host="vonnegut")
    return yaml.safe_load(result.spec_text), result


def test_the_spec_validates_and_names_the_project(exported: tuple[dict[str, Any], Any]) -> None:
    spec, result = exported
    Spec.model_validate(spec)
    assert result.project == "beast"
    assert spec["project"] == "beast"
    assert spec["environments"] == {
        "remote": {
            "description": "discovered on vonnegut",
            "ssh": {"host": "vonnegut"},
            "bind_address": "127.0.0.1",
        }
    }
    assert "<redacted" not in result.spec_text


def test_prometheus_flags_config_and_rules(exported: tuple[dict[str, Any], Any]) -> None:
    spec, result = exported
    prom = spec["services"]["prometheus"]
    assert prom["retention"] == {
        "time": None,
        "size": "20GB",
    }  # a size only: no time limit, as Prometheus does
    assert prom["web_auth"] == {"username": "admin", "password_hash": BCRYPT}
    assert prom["extra_flags"] == ["--web.enable-lifecycle"]
    assert prom["port"] == 19090
    assert prom["data"] == {"volume": "prom-data"}
    assert prom["networks"] == ["monitoring"]
    assert prom["global"] == {
        "scrape_interval": "20s",
        "evaluation_interval": "1m",
        "external_labels": {"site": "beast"},
    }
    jobs = {j["name"]: j for j in prom["scrape_jobs"]}
    assert jobs["pushgateway"] == {
        "name": "pushgateway",
        "targets": ["pushgateway:9091"],
        "honor_labels": True,
    }
    assert jobs["nodes-1"] == {
        "name": "nodes-1",
        "targets": ["a:9100"],
        "labels": {"job": "nodes", "rack": "one"},
    }
    assert jobs["nodes-2"]["labels"] == {"job": "nodes", "rack": "two"}
    assert "discovered" not in jobs
    assert prom["rule_files"] == [
        {"name": "alerts", "path": "rules/alerts.yml"},
        {"name": "more", "path": "rules/more.yml"},
    ]
    assert result.files["rules/more.yml"] == b"groups: [{name: x, rules: []}]\n"
    notes = "\n".join(result.notes)
    for said in (
        "relabel_configs",
        "file_sd_configs",
        "query_log_file",
        "honor_labels set to true",
        "pushgw:9091: the spec names that service pushgateway",
    ):
        assert said in notes


def test_pushgateway(exported: tuple[dict[str, Any], Any]) -> None:
    spec, result = exported
    pg = spec["services"]["pushgateway"]
    assert pg["persistence"] == {"enabled": True}
    assert pg["admin_api"] is True
    assert pg["extra_flags"] == ["--log.level=debug"]
    assert pg["bind_address"] == "0.0.0.0"  # noqa: S104 - as published on the host
    assert pg["data"] == {"volume": "pg"}
    assert any("/data/pg.db" in n for n in result.notes)


def test_grafana_secrets_become_references(exported: tuple[dict[str, Any], Any]) -> None:
    spec, result = exported
    g = spec["services"]["grafana"]
    assert g["admin_password"] == {"file": "/srv/secrets/admin.txt"}
    assert g["plugins"] == ["a-panel", "b-panel"]
    assert g["environment"] == {
        "GF_DATABASE_PASSWORD": "${GF_DATABASE_PASSWORD}",
        "GF_LOG_LEVEL": "warn",
        "GF_SECURITY_SECRET_KEY": "${GF_SECURITY_SECRET_KEY}",
    }
    assert g["ini"] == {"log": {"level": "warn"}, "users": {"allow_sign_up": False}}
    assert g["datasources"] == [
        {
            "name": "Prometheus (prom)",
            "type": "prometheus",
            "uid": "prom",
            "url": "http://pushgw:9090",
            "is_default": True,
        }
    ]
    assert g["dashboards"] == []
    notes = "\n".join(result.notes)
    for said in ("http_port = 3001", "'app_mode'", "not valid", "built-in Prometheus"):
        assert said in notes


def test_alertmanager_secrets_are_placeholders_not_markers(
    exported: tuple[dict[str, Any], Any],
) -> None:
    spec, result = exported
    am = spec["services"]["alertmanager"]
    assert am["enabled"] is True
    assert am["config_path"] == "alertmanager/alertmanager.yml"
    text = result.files["alertmanager/alertmanager.yml"].decode()
    assert "slack_api_url: FILL-IN-SECRET-0123456789ab" in text
    assert "<redacted" not in text
    assert any("clustering is on" in n for n in result.notes)


def test_other_containers_become_extra_services(exported: tuple[dict[str, Any], Any]) -> None:
    spec, result = exported
    worker = spec["services"]["extra"]["worker"]
    assert worker == {
        "image": "busybox:1.36",
        "command": ["sleep", "infinity"],
        "environment": {"API_TOKEN": "${API_TOKEN}", "MODE": "batch"},
        "ports": ["127.0.0.1:18080:8080"],
        "volumes": ["/srv/w:/w:ro"],
        "restart": "unless-stopped",
        "labels": {"beast.role": "worker", "vault.token": "${VAULT_TOKEN}"},
        "networks": ["monitoring", "shared"],
    }
    assert spec["networks"] == {
        "monitoring": {"driver": "bridge"},
        "shared": {"external": True, "name": "shared"},
    }
    notes = "\n".join(result.notes)
    assert "volume beast_cache at /cache must be declared by hand" in notes
    assert "vault.token holds a secret: set VAULT_TOKEN in the .env file" in notes


def test_export_is_deterministic() -> None:
    assert export_spec(inventory()).spec_text == export_spec(inventory()).spec_text


def test_project_selection() -> None:
    inv = inventory()
    assert select_project(inv, None)[0] == "beast"  # the first (sorted) with a Prometheus
    assert [c["name"] for c in select_project(inv, "zzz")[1]] == ["zzz-prometheus-1"]
    with pytest.raises(ObservatoryError, match="no container of compose project 'nope'"):
        select_project(inv, "nope")
    lonely = {**inv, "containers": [container("web", "nginx", project=None)]}
    with pytest.raises(ObservatoryError, match="no Prometheus found"):
        select_project(lonely, None)
    alone = {
        **inv,
        "containers": [
            container("prom", "prom/prometheus", project=None),
            container("web", "nginx", project=None),
        ],
    }
    assert [c["name"] for c in select_project(alone, None)[1]] == ["prom", "web"]


def test_a_project_without_grafana_or_pushgateway_disables_them() -> None:
    inv = inventory()
    inv["containers"] = [c for c in inv["containers"] if c["name"] == "zzz-prometheus-1"]
    spec = yaml.safe_load(export_spec(inv).spec_text)
    assert spec["services"]["grafana"] == {"enabled": False}
    assert spec["services"]["pushgateway"] == {"enabled": False}
    assert spec["services"]["prometheus"]["publish"] is False


def test_prometheus_yml_from_the_api_when_no_file_is_mounted() -> None:
    inv = inventory()
    name = inv["containers"][0]["name"]
    inv["config_files"][name] = {}
    answer = {
        "status": "success",
        "data": {"yaml": "global:\n  scrape_interval: 7s\nscrape_configs: []\n"},
    }
    inv["apis"] = {name: {"/api/v1/status/config": {"status": 200, "body": answer}}}
    result = export_spec(inv)
    prom = yaml.safe_load(result.spec_text)["services"]["prometheus"]
    assert prom["global"]["scrape_interval"] == "7s"
    assert prom["scrape_self"] is False
    assert any("taken from the API" in n for n in result.notes)


def test_compose_files_are_preferred_for_extra_services() -> None:
    inv = inventory()
    compose = (
        "services:\n  worker:\n    image: busybox:1.36\n    build: .\n    env_file: ./w.env\n"
        "    volumes: ['./data:/data', 'cache:/cache']\n    depends_on: [pushgw]\n"
        f"    environment: {{TOKEN: '{MARK}', REF: '${{FROM_ENV}}', PASS_THROUGH: null}}\n"
    )
    inv["compose_projects"] = [
        {
            "name": "beast",
            "working_dir": "/srv/beast",
            "config_files": ["/srv/beast/c.yml"],
            "files": {"/srv/beast/c.yml": record(compose)},
        }
    ]
    result = export_spec(inv)
    worker = yaml.safe_load(result.spec_text)["services"]["extra"]["worker"]
    assert worker["environment"] == {
        "PASS_THROUGH": "${PASS_THROUGH}",
        "REF": "${FROM_ENV}",
        "TOKEN": "${TOKEN}",
    }
    assert worker["volumes"] == ["/srv/beast/data:/data", "cache:/cache"]
    assert worker["env_file"] == ["/srv/beast/w.env"]
    assert worker["depends_on"] == ["pushgateway"]
    assert "build" not in worker
    assert any("'build' is left out" in n for n in result.notes)


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (["--a=1", "--b", "2", "--c", "-d=x"], [("a", "1"), ("b", "2"), ("c", None), ("d", "x")]),
        (["positional", "--flag"], [("flag", None)]),
    ],
)
def test_parse_flags(args: list[str], flags: list[tuple[str, str | None]]) -> None:
    assert parse_flags(args) == flags


def test_rule_globs_stay_within_a_segment() -> None:
    assert glob_segments("/etc/p/rules/*.yml", "/etc/p/rules/a.yml")
    assert not glob_segments("/etc/p/rules/*.yml", "/etc/p/rules/sub/a.yml")


def test_the_result_as_json_is_stable() -> None:
    result = export_spec(inventory())
    assert json.dumps(sorted(result.files)) == json.dumps(
        ["alertmanager/alertmanager.yml", "rules/alerts.yml", "rules/more.yml"]
    )
