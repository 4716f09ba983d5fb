"""The rarer shapes a hand-made host takes, and what export says about each (pure)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from beast_observatory.discover.export import export_spec
from beast_observatory.discover.export_grafana import parse_ini

from .test_export import BCRYPT, MARK, container, publish, record, volume

DASHBOARD = {"uid": "d1", "title": "D", "schemaVersion": 39, "panels": []}


def base_inventory(
    *containers: dict[str, Any], files: dict[str, Any] | None = None
) -> dict[str, Any]:
    prom = container("prometheus", "prom/prometheus", ports=publish(9090, 9090))
    return {
        "probe_version": 1,
        "host": {"hostname": "h", "kernel": "k"},
        "docker": {"available": True},
        "containers": [prom, *containers],
        "volumes": [],
        "networks": [],
        "compose_projects": [],
        "config_files": files or {},
        "directories": {},
        "apis": {},
        "problems": [],
    }


def export(inv: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, bytes]]:
    result = export_spec(inv)
    return yaml.safe_load(result.spec_text), result.notes, result.files


def test_grafana_dashboards_through_providers() -> None:
    grafana = container(
        "grafana",
        "grafana/grafana",
        env={
            "GF_PATHS_CONFIG": "/etc/g/custom.ini",
            "GF_PATHS_PROVISIONING": "/etc/g/prov",
            "GF_SECURITY_ADMIN_PASSWORD": MARK,
            "GF_SECURITY_ADMIN_USER": "boss",
        },
        ports=publish(3000, 3000),
        mounts=[volume("gdata", "/var/lib/grafana")],
    )
    providers = (
        "providers:\n"
        "  - {name: main, folder: Ops, allowUiUpdates: true, updateIntervalSeconds: 5,\n"
        "     options: {path: /dash}}\n"
        "  - {name: empty, options: {path: /nothing}}\n"
    )
    files = {
        grafana["name"]: {
            "/etc/g/custom.ini": record(
                "[server]\nroot_url = http://x/\n[smtp]\npassword = hunter2\n"
            ),
            "/etc/g/prov/dashboards/p.yml": record(providers),
            "/etc/g/prov/dashboards/broken.yml": record("providers: [\n"),
            "/etc/g/prov/datasources/ds.yml": record(None, error="permission denied"),
            "/dash/good.json": record(json.dumps(DASHBOARD)),
            "/dash/bad.json": record("{not json"),
            "/dash/odd.json": record(json.dumps({"title": "no uid", "panels": []})),
            "/dash/gone.json": record(None, error="no such file"),
        }
    }
    spec, notes, side = export(base_inventory(grafana, files=files))
    g = spec["services"]["grafana"]
    assert g["admin_user"] == "boss"
    assert g["admin_password"] == {"env": "GRAFANA_ADMIN_PASSWORD"}
    assert g["ini"] == {"server": {"root_url": "http://x/"}}
    assert g["environment"] == {"GF_SMTP_PASSWORD": "${GF_SMTP_PASSWORD}"}
    assert g["dashboards"] == [
        {
            "name": "main",
            "folder": "Ops",
            "files": ["dashboards/main/*.json"],
            "allow_ui_updates": True,
            "update_interval_seconds": 10,
        }
    ]
    assert sorted(side) == ["dashboards/main/good.json", "dashboards/main/odd.json"]
    said = "\n".join(notes)
    for what in (
        "bad.json is not JSON",
        "odd.json: uid: missing",
        "gone.json could not be read",
        "provider empty: no dashboard found",
        "broken.yml",
        "ds.yml could not be read: permission denied",
        "admin password was redacted",
    ):
        assert what in said


def test_grafana_admin_password_from_a_compose_reference() -> None:
    grafana = container("grafana", "grafana/grafana-oss", env={"GF_SECURITY_ADMIN_PASSWORD": MARK})
    inv = base_inventory(grafana)
    compose = (
        "services:\n  grafana:\n    environment:\n      - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PW}\n"
    )
    inv["compose_projects"] = [
        {
            "name": "beast",
            "working_dir": "/srv",
            "config_files": ["/srv/c.yml"],
            "files": {"/srv/c.yml": record(compose)},
        }
    ]
    spec, _, _ = export(inv)
    assert spec["services"]["grafana"]["admin_password"] == {"env": "ADMIN_PW"}
    assert spec["services"]["grafana"]["publish"] is False


def test_exporters_flags_and_odd_containers() -> None:
    node = container(
        "node",
        "prom/node-exporter",
        cmd=["--path.rootfs=/host", "--collector.systemd"],
        networks=["host"],
    )
    am = container("am", "prom/alertmanager", cmd=["--web.config.file=/etc/am/web.yml"])
    files = {
        am["name"]: {
            "/etc/am/web.yml": record(
                "basic_auth_users:\n  a: plain\n  b: plain\ntls_server_config: {}\n"
            )
        }
    }
    odd = container(
        "odd", "busybox", env={"lower_case": "x", "PATH": "/custom"}, networks=["bridge"]
    )
    odd["restart_policy"] = "sometimes"
    inv = base_inventory(node, am, odd, files=files)
    inv["containers"][0]["cmd"] = [
        "--storage.tsdb.retention.size=20G",
        "--web.config.file=/etc/p/web.yml",
    ]
    inv["config_files"][inv["containers"][0]["name"]] = {
        "/etc/p/web.yml": record(f"basic_auth_users:\n  admin: {BCRYPT}\n"),
        "/etc/prometheus/prometheus.yml": record("scrape_configs: [\n"),
    }
    spec, notes, _ = export(inv)
    assert spec["services"]["node_exporter"] == {
        "enabled": True,
        "image": "prom/node-exporter",
        "restart": "unless-stopped",
        "publish": False,
        "healthcheck": {"interval": "30s", "timeout": "5s", "retries": 3},
        "networks": [],
        "extra_flags": ["--collector.systemd"],
    }
    assert "web_auth" not in spec["services"]["alertmanager"]
    assert spec["services"]["prometheus"]["web_auth"] == {
        "username": "admin",
        "password_hash": BCRYPT,
    }
    assert spec["services"]["prometheus"]["retention"] == {"time": None}
    extra = spec["services"]["extra"]["odd"]
    assert extra["restart"] == "unless-stopped"
    assert extra["environment"] == {"PATH": "/custom"}
    assert spec["networks"]["bridge"] == {"external": True, "name": "bridge"}
    said = "\n".join(notes)
    for what in (
        "network mode host",
        "2 users",
        "not a bcrypt hash",
        "only basic_auth_users",
        "retention size '20G'",
        "'lower_case' is not a NAME",
        "restart policy 'sometimes'",
        "prometheus.yml",
        "no volume holds /prometheus",
        "config /etc/alertmanager/alertmanager.yml",
    ):
        assert what in said, what


def test_odd_scrape_configs() -> None:
    config = (
        "scrape_configs:\n"
        "  - job_name: 'my job/1'\n"
        "    static_configs: [{targets: [a:1], labels: {'bad-label': x, good: y}}]\n"
        "  - not a mapping\n"
    )
    prom = container("prometheus", "prom/prometheus", cmd=["--config.file=conf/p.yml"])
    inv = base_inventory()
    inv["containers"] = [prom]
    inv["config_files"] = {prom["name"]: {"/prometheus/conf/p.yml": record(config)}}
    inv["volumes"] = [{"name": "beast_ext", "driver": "local", "labels": {}, "mountpoint": "/x"}]
    prom["mounts"] = [volume("ext", "/prometheus")]
    spec, notes, _ = export(inv)
    (job,) = spec["services"]["prometheus"]["scrape_jobs"]
    assert job == {"name": "my-job-1", "targets": ["a:1"], "labels": {"good": "y"}}
    assert spec["services"]["prometheus"]["data"] == {"volume": "beast_ext"}
    said = "\n".join(notes)
    assert "label names ['bad-label'] are not valid" in said
    assert "'my job/1' is named 'my-job-1'" in said
    assert "volume beast_ext is not one of the project's" in said


def test_compose_fragments_of_extra_services() -> None:
    worker = container("worker", "busybox")
    inv = base_inventory(worker)
    compose = (
        "services:\n  worker:\n    image: busybox\n"
        "    volumes: [{type: bind, source: ./d, target: /d},\n"
        "              {type: volume, source: v, target: /v}]\n"
        "    depends_on: {prometheus: {condition: service_started}}\n    env_file: .env\n"
    )
    inv["compose_projects"] = [
        {
            "name": "beast",
            "working_dir": "/srv/b",
            "config_files": ["/srv/b/c.yml", "/srv/b/o.yml"],
            "files": {
                "/srv/b/c.yml": record(compose),
                "/srv/b/o.yml": record(None, error="no such file"),
            },
        }
    ]
    spec, notes, _ = export(inv)
    extra = spec["services"]["extra"]["worker"]
    assert extra["volumes"][0] == {"type": "bind", "source": "/srv/b/d", "target": "/d"}
    assert extra["depends_on"] == {"prometheus": {"condition": "service_started"}}
    assert extra["env_file"] == ["/srv/b/.env"]
    assert any("o.yml could not be read" in n for n in notes)


def test_parse_ini() -> None:
    ini = parse_ini('top = 1\n; c\n# c\n[a]\nk = """x;y"""\nnot a pair\n[b.c]\nn = 5\n')
    assert ini == {"": {"top": "1"}, "a": {"k": "x;y"}, "b.c": {"n": "5"}}
