"""The rarer shapes a hand-made host takes, and what export says about each (pure)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from beast_observatory.discover.export import export_spec
from beast_observatory.host.probe.inventory import Inventory, Volume
from inventory_builder import (
    BCRYPT,
    MARK,
    anonymous,
    bind,
    compose_project,
    container,
    inventory,
    text_file,
    volume,
)

PROMETHEUS = container("prometheus", "prom/prometheus:v2.53.2")


def export(inv: Inventory) -> tuple[dict[str, Any], str, dict[str, bytes]]:
    result = export_spec(inv)
    return yaml.safe_load(result.spec_text), "\n".join(result.notes), result.files


def test_grafana_with_its_own_layout_and_broken_provisioning() -> None:
    grafana = container(
        "grafana",
        "grafana/grafana:10.4.0",
        env={
            "GF_PATHS_CONFIG": "/etc/g/custom.ini",
            "GF_PATHS_PROVISIONING": "/etc/g/prov",
            "GF_SECURITY_ADMIN_PASSWORD__FILE": "/run/secrets/admin",
            "GF_SECURITY_ADMIN_USER": "boss",
            "GF_INSTALL_PLUGINS": "b-panel,a-panel",
        },
        mounts=[bind("/srv/secrets/admin.txt", "/run/secrets/admin", rw=False)],
    )
    providers = (
        "apiVersion: 1\nproviders:\n"
        "  - {name: main, folder: Ops, updateIntervalSeconds: 5, options: {path: /dash}}\n"
        "  - {name: empty, options: {path: /nothing}}\n"
    )
    files = {
        grafana.name: {
            "/etc/g/custom.ini": "instance_name = beast\n[smtp]\npassword = hunter2\n"
            "[paths]\nprovisioning = /etc/g/prov\n",
            "/etc/g/prov/dashboards/p.yml": providers,
            "/etc/g/prov/dashboards/broken.yml": "providers: [\n",
            "/etc/g/prov/datasources/ds.yml": text_file(None, error="permission denied"),
            "/dash/good.json": json.dumps({"uid": "d1", "title": "D", "panels": []}),
            "/dash/gone.json": text_file(None, error="no such file"),
        }
    }
    spec, notes, side = export(inventory(PROMETHEUS, grafana, files=files))
    g = spec["services"]["grafana"]
    assert g["config_dir"] == "/etc/g"
    assert g["admin_user"] == "boss"
    assert g["admin_password"] == {"file": "/srv/secrets/admin.txt"}
    assert g["plugins"] == ["b-panel", "a-panel"]
    # The keys before the first section are kept; a clear secret becomes a reference; the
    # provisioning path is the tool's own layout from now on.
    assert g["ini"] == {
        "": {"instance_name": "beast"},
        "smtp": {"password": "$__env{GF_SMTP_PASSWORD}"},
    }
    assert g["dashboards"] == [
        {
            "name": "main",
            "files": ["dashboards/main/*.json"],
            "folder": "Ops",
            "update_interval_seconds": 5,
        },
        {"name": "empty", "files": ["dashboards/empty/*.json"]},
    ]
    assert sorted(side) == ["dashboards/main/good.json"]
    for said in (
        "broken.yml: YAML error",
        "ds.yml could not be read: permission denied",
        "/dash/gone.json could not be read: no such file",
        "provider empty: no dashboard found under /nothing",
        "provisioning moves from /etc/g/prov to the tool's layout",
        "set GF_SMTP_PASSWORD in the .env file",
    ):
        assert said in notes, said


def test_grafana_admin_password_from_a_compose_reference() -> None:
    grafana = container("grafana", "grafana/grafana-oss", env={"GF_SECURITY_ADMIN_PASSWORD": MARK})
    compose = (
        "services:\n  grafana:\n    environment:\n      - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PW}\n"
    )
    inv = inventory(
        PROMETHEUS, grafana, projects=[compose_project({"docker-compose.yml": compose})]
    )
    spec, notes, _ = export(inv)
    assert spec["services"]["grafana"]["admin_password"] == {"env": "ADMIN_PW"}
    assert "set ADMIN_PW in the .env file" in notes


def test_node_exporter_with_the_specs_own_layout_reads_as_host_root() -> None:
    node = container(
        "node",
        "prom/node-exporter:v1.8.2",
        cmd=["--path.rootfs=/host", "--collector.systemd"],
        mounts=[bind("/", "/host", rw=False)],
        networks=[],
        host_config={"network_mode": "host", "pid_mode": "host"},
    )
    spec, _, _ = export(inventory(PROMETHEUS, node))
    ne = spec["services"]["node_exporter"]
    assert ne["host_root"] == "/host"
    assert ne["extra_flags"] == ["--collector.systemd"]
    assert ne["volumes"] == []  # the host's / is what host_root mounts
    assert ne["compose"] == {"pid": "host", "network_mode": "host"}
    assert ne["networks"] == []
    assert ne["service_name"] == "node"


def test_node_exporter_with_a_layout_of_its_own_keeps_its_mounts_and_flags() -> None:
    node = container(
        "node",
        "prom/node-exporter:v1.8.2",
        cmd=["--path.rootfs=/rootfs", "--path.procfs=/host/proc"],
        mounts=[bind("/", "/rootfs", rw=False), bind("/proc", "/host/proc", rw=False)],
    )
    spec, _, _ = export(inventory(PROMETHEUS, node))
    ne = spec["services"]["node_exporter"]
    # No pid: host: not the spec's layout, so none of it is assumed.
    assert ne["host_root"] is None
    assert ne["extra_flags"] == ["--path.rootfs=/rootfs", "--path.procfs=/host/proc"]
    assert ne["volumes"] == ["/proc:/host/proc:ro", "/:/rootfs:ro"]


ALERTMANAGER_YML = f"""\
global:
  resolve_timeout: 5m
templates: ['/etc/alertmanager/templates/*.tmpl']
route: {{receiver: slack}}
receivers:
  - name: slack
    slack_configs:
      - api_url: '{MARK}'
        channel: '#ops'
  - name: mail
    email_configs:
      - to: ops@example.com
        auth_password: '{MARK}'
"""


def test_alertmanager_secrets_are_carried_as_files_written_at_start() -> None:
    am = container(
        "alertmanager",
        "prom/alertmanager:v0.27.0",
        cmd=[
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "--web.config.file=/etc/alertmanager/web.yml",
            "--cluster.listen-address=",
        ],
        restart="on-failure:3",
    )
    web = (
        f"basic_auth_users:\n  a: {BCRYPT}\n  b: {BCRYPT}\n"
        "tls_server_config: {cert_file: /c.pem, key_file: /k.pem}\n"
    )
    files = {
        am.name: {
            "/etc/alertmanager/alertmanager.yml": ALERTMANAGER_YML,
            "/etc/alertmanager/templates/slack.tmpl": '{{ define "x" }}{{ end }}\n',
            "/etc/alertmanager/web.yml": web,
        }
    }
    result = export_spec(inventory(PROMETHEUS, am, files=files))
    s = yaml.safe_load(result.spec_text)["services"]["alertmanager"]
    assert s["enabled"] is True
    assert s["restart"] == "on-failure:3"
    assert s["cluster_listen_address"] == ""
    assert s["secrets"] == {
        "slack-api-url": {"env": "ALERTMANAGER_SLACK_API_URL"},
        "mail-email-auth-password": {"env": "ALERTMANAGER_MAIL_EMAIL_AUTH_PASSWORD"},
    }
    text = result.files[s["config_path"]].decode()
    assert "      - api_url_file: /tmp/observatory-secrets/slack-api-url\n" in text
    assert "auth_password_file: /tmp/observatory-secrets/mail-email-auth-password" in text
    assert "  resolve_timeout: 5m\n" in text  # the rest as the author wrote it
    assert s["files"] == {"templates/slack.tmpl": "alertmanager/templates/slack.tmpl"}
    assert s["web_auth"] == {
        "username": "a",
        "password_hash": BCRYPT,
        "users": {"b": BCRYPT},
        "extra": {"tls_server_config": {"cert_file": "/c.pem", "key_file": "/k.pem"}},
    }
    assert "ALERTMANAGER_SLACK_API_URL" in result.spec_text.splitlines()[1]


def test_a_web_config_without_bcrypt_hashes_is_left_out() -> None:
    prom = container(
        "prometheus", "prom/prometheus", cmd=["--web.config.file=/etc/prometheus/web.yml"]
    )
    files = {prom.name: {"/etc/prometheus/web.yml": "basic_auth_users:\n  a: plain\n"}}
    spec, notes, _ = export(inventory(prom, files=files))
    assert "web_auth" not in spec["services"]["prometheus"]
    assert "the passwords of a in /etc/prometheus/web.yml are no bcrypt hashes" in notes


def test_prometheus_with_a_relative_config_file_and_a_foreign_volume() -> None:
    prom = container(
        "prometheus",
        "prom/prometheus",
        cmd=["--config.file=conf/p.yml", "--storage.tsdb.retention.size=20G"],
        mounts=[volume("ext", "/prometheus", project=None)],
    )
    config = "scrape_configs:\n  - job_name: 'my job/1'\n    static_configs: [{targets: [a:1]}]\n"
    inv = inventory(
        prom,
        files={prom.name: {"/prometheus/conf/p.yml": config}},
        volumes=[Volume("ext", "local")],
    )
    spec, notes, _ = export(inv)
    p = spec["services"]["prometheus"]
    assert p["config_dir"] == "/prometheus/conf"
    assert p["scrape_jobs"] == [{"name": "my job/1", "targets": ["a:1"]}]
    assert p["data"] == {"volume": "ext"}
    assert spec["volumes"] == {"ext": {"external": True, "name": "ext"}}
    assert "retention size '20G' is not in the spec's form" in notes
    assert "its config file /prometheus/conf/p.yml is rendered as prometheus.yml" in notes
    assert "volume ext is not the project's own" in notes


def test_data_in_an_anonymous_volume_or_the_containers_layer() -> None:
    prom = container("prometheus", "prom/prometheus", mounts=[anonymous("/prometheus")])
    am = container("alertmanager", "prom/alertmanager")
    spec, notes, _ = export(inventory(prom, am))
    assert spec["services"]["prometheus"]["data"] is None
    assert spec["services"]["alertmanager"]["data"] is None
    assert "its data (/prometheus) is in an anonymous volume" in notes
    assert "its data (/alertmanager) is in the container's own layer: it is lost" in notes


def test_extra_services_mount_forms_and_compose_only_keys() -> None:
    worker = container(
        "worker",
        "busybox",
        mounts=[
            bind("/srv/b/conf", "/conf", rw=False),
            bind("/srv/b/data", "/data"),
            volume("cache", "/cache"),
            anonymous("/scratch"),
        ],
        env={"lower-case": "x", "PATH": "/custom"},
    )
    compose = (
        "services:\n  worker:\n    image: busybox\n    build: .\n"
        "    depends_on: {prometheus: {condition: service_started}}\n"
        "    profiles: [batch]\n"
    )
    inv = inventory(
        PROMETHEUS,
        worker,
        files={worker.name: {"/conf/app.toml": "x = 1\n"}},
        projects=[compose_project({"docker-compose.yml": compose}, working_dir="/srv/b")],
    )
    result = export_spec(inv)
    spec = yaml.safe_load(result.spec_text)
    extra = spec["services"]["extra"]["worker"]
    # A read-only folder the probe read is captured beside the spec, at the author's path.
    assert extra["volumes"] == [
        "beast_cache:/cache",
        "./conf:/conf:ro",
        "/srv/b/data:/data",
        "/scratch",
    ]
    assert result.files["conf/app.toml"] == b"x = 1\n"
    assert extra["depends_on"] == {"prometheus": {"condition": "service_started"}}
    assert extra["profiles"] == ["batch"]
    assert extra["environment"] == {"PATH": "/custom"}
    notes = "\n".join(result.notes)
    assert "built on the host from '.'" in notes
    assert "'lower-case' is not a name the spec accepts" in notes
    assert "volume beast_cache is not the project's own" in notes
