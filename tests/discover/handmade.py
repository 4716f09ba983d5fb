"""A stack made by hand on vonnegut, as the probe reports it: the input of the export tests.

Compose project ``beast`` in /srv/beast: Prometheus (rules, a file_sd target file, basic
auth), a Pushgateway without persistence, Grafana with provisioned data sources (one without
uid, one with basic auth, one with a header secret) and old dashboards, a Postgres whose
password comes from an env_file, and a worker on an external network that only exposes its
port. The compose file uses a YAML anchor, an x- field and ${VAR:-default} image tags that
the project's .env sets.
"""

from __future__ import annotations

import json

from beast_observatory.host.probe.inventory import Attachment, Healthcheck, Inventory, Network
from inventory_builder import (
    BCRYPT,
    MARK,
    bind,
    compose_labels,
    compose_project,
    container,
    inventory,
    project_network,
    project_volume,
    published,
    volume,
)

WORKING_DIR = "/srv/beast"
COMPOSE = """\
x-logging: &logging
  driver: json-file
  options: {max-size: 10m}
services:
  prometheus:
    image: prom/prometheus:${PROM_TAG:-v2.50.0}
    command:
      - --config.file=/etc/prometheus/prometheus.yml
      - --storage.tsdb.path=/prometheus
      - --storage.tsdb.retention.time=21d
      - --web.config.file=/etc/prometheus/web.yml
      - --web.enable-lifecycle
    ports: ["127.0.0.1:19090:9090"]
    volumes: [./prometheus:/etc/prometheus:ro, prom-data:/prometheus]
    networks: {monitoring: {aliases: [prom]}}
    logging: *logging
    restart: unless-stopped
  pushgw:
    image: prom/pushgateway:v1.9.0
    ports: ["0.0.0.0:19091:9091"]
    networks: [monitoring]
    restart: always
  grafana:
    image: grafana/grafana-oss:11.2.0
    container_name: grafana
    env_file: grafana.env
    environment:
      GF_SERVER_ROOT_URL: http://${PUBLIC_HOST:-localhost}:3000/
    ports: ["127.0.0.1:13000:3000"]
    volumes:
      - ./grafana/provisioning:/etc/grafana/provisioning:ro
      - ./grafana/dashboards:/var/lib/grafana/dashboards:ro
      - grafana-data:/var/lib/grafana
    networks: [monitoring]
    restart: unless-stopped
  db:
    image: postgres:16
    env_file: [db.env]
    volumes: [/srv/beast/pgdata:/var/lib/postgresql/data]
    networks: [monitoring]
    healthcheck:
      test: [CMD-SHELL, pg_isready -U beast]
      interval: 10s
  worker:
    image: busybox:${BUSYBOX_TAG:-1.35}
    x-owner: batch-team
    command: [sleep, infinity]
    expose: ["8080"]
    environment:
      MODE: ${WORKER_MODE:-batch}
    networks: [monitoring, shared]
    depends_on: [pushgw]
    logging: *logging
networks:
  monitoring: {}
  shared: {external: true}
volumes:
  prom-data: {}
  grafana-data: {}
"""
DOTENV = "PROM_TAG=v2.53.2\nBUSYBOX_TAG=1.36\nPUBLIC_HOST=grafana.example\n"
PROMETHEUS_YML = """\
global:
  scrape_interval: 20s
  evaluation_interval: 30s
  external_labels: {site: vonnegut}
  query_log_file: /prometheus/queries.log
rule_files: [rules/*.yml]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['localhost:9090']}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ['pushgw:9091']}]
  - job_name: nodes
    scrape_interval: 1m
    relabel_configs:
      - {source_labels: [__address__], regex: '([^:]+):.*', target_label: host}
    static_configs:
      - {targets: ['a:9100'], labels: {rack: one}}
      - {targets: ['b:9100', 'c:9100'], labels: {rack: two}}
  - job_name: files
    file_sd_configs: [{files: [/etc/prometheus/targets/*.json]}]
"""
RULES = "groups:\n  - name: beast\n    rules:\n      - {alert: Down, expr: up == 0, for: 5m}\n"
TARGETS = '[{"targets": ["d:9100"], "labels": {"rack": "three"}}]\n'
GRAFANA_INI = f"""\
; grafana.ini of vonnegut, edited by hand
[server]
root_url = http://grafana.example:3000/
[security]
secret_key = {MARK}
[users]
allow_sign_up = false
"""
DATASOURCES = f"""\
apiVersion: 1
datasources:
  - name: Prometheus
    type: prometheus
    access: proxy
    url: http://prom:9090
    isDefault: true
    jsonData: {{timeInterval: 20s}}
  - name: Loki
    type: loki
    url: https://loki.example
    basicAuth: true
    basicAuthUser: grafana
    secureJsonData: {{basicAuthPassword: '{MARK}'}}
  - name: Tempo
    type: tempo
    uid: tempo
    url: http://tempo:3200
    jsonData: {{httpHeaderName1: Authorization}}
    secureJsonData: {{httpHeaderValue1: '$__env{{TEMPO_TOKEN}}'}}
"""
PROVIDERS = """\
apiVersion: 1
providers:
  - name: default
    folder: Beast
    allowUiUpdates: true
    options: {path: /var/lib/grafana/dashboards, foldersFromFilesStructure: false}
"""
# A dashboard of Grafana 4: rows, no uid, its data source by name, an import input.
ROWS_DASHBOARD = json.dumps(
    {
        "title": "Old overview",
        "schemaVersion": 14,
        "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource"}],
        "rows": [{"panels": [{"id": 1, "type": "graph", "datasource": "Prometheus", "span": 12}]}],
    },
    indent=2,
)
NODES_DASHBOARD = json.dumps(
    {"uid": "nodes", "title": "Nodes", "schemaVersion": 39, "panels": []}, indent=2
)


def handmade_inventory() -> Inventory:
    labels = compose_labels(WORKING_DIR)
    logging = {"log_type": "json-file"}
    prometheus = container(
        "prometheus",
        "prom/prometheus:v2.53.2",
        cmd=[
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=21d",
            "--web.config.file=/etc/prometheus/web.yml",
            "--web.enable-lifecycle",
        ],
        labels=labels,
        ports=published(9090, 19090),
        mounts=[
            bind(f"{WORKING_DIR}/prometheus", "/etc/prometheus", rw=False),
            volume("prom-data", "/prometheus"),
        ],
        networks=[Attachment("beast_monitoring", ("prom", "prometheus"))],
        host_config=logging,
    )
    prometheus = type(prometheus)(**{**prometheus.__dict__, "log_options": {"max-size": "10m"}})
    pushgateway = container(
        "pushgw",
        "prom/pushgateway:v1.9.0",
        labels=labels,
        ports=published(9091, 19091, "0.0.0.0"),  # noqa: S104 - what the host publishes
        networks=["beast_monitoring"],
        restart="always",
    )
    grafana = container(
        "grafana",
        "grafana/grafana-oss:11.2.0",
        container_name="grafana",
        env={
            "GF_SECURITY_ADMIN_PASSWORD": MARK,
            "GF_SERVER_ROOT_URL": "http://grafana.example:3000/",
            "TEMPO_TOKEN": MARK,
        },
        labels=labels,
        ports=published(3000, 13000),
        mounts=[
            bind(f"{WORKING_DIR}/grafana/provisioning", "/etc/grafana/provisioning", rw=False),
            bind(f"{WORKING_DIR}/grafana/dashboards", "/var/lib/grafana/dashboards", rw=False),
            volume("grafana-data", "/var/lib/grafana"),
        ],
        networks=["beast_monitoring"],
    )
    db = container(
        "db",
        "postgres:16",
        env={"POSTGRES_PASSWORD": MARK, "POSTGRES_USER": "beast"},
        labels=labels,
        mounts=[bind(f"{WORKING_DIR}/pgdata", "/var/lib/postgresql/data")],
        networks=["beast_monitoring"],
        restart="no",
        healthcheck=Healthcheck(("CMD-SHELL", "pg_isready -U beast"), interval="10s"),
    )
    worker = container(
        "worker",
        "busybox:1.36",
        cmd=["sleep", "infinity"],
        env={"MODE": "batch"},
        labels=labels,
        networks=["beast_monitoring", "shared"],
        restart="no",
        config={"exposed": {"8080/tcp": {}}},
        host_config=logging,
    )
    worker = type(worker)(**{**worker.__dict__, "log_options": {"max-size": "10m"}})
    other = container("prometheus", "prom/prometheus:v2.45.0", project="zzz")
    prom_files = {
        "/etc/prometheus/prometheus.yml": PROMETHEUS_YML,
        "/etc/prometheus/rules/alerts.yml": RULES,
        "/etc/prometheus/targets/nodes.json": TARGETS,
        "/etc/prometheus/web.yml": f"basic_auth_users:\n  admin: {BCRYPT}\n",
    }
    grafana_files = {
        "/etc/grafana/grafana.ini": GRAFANA_INI,
        "/etc/grafana/provisioning/datasources/ds.yml": DATASOURCES,
        "/etc/grafana/provisioning/dashboards/providers.yml": PROVIDERS,
        "/var/lib/grafana/dashboards/old.json": ROWS_DASHBOARD,
        "/var/lib/grafana/dashboards/infra/nodes.json": NODES_DASHBOARD,
    }
    project = compose_project(
        {
            "docker-compose.yml": COMPOSE,
            ".env": DOTENV,
            "grafana.env": f"GF_SECURITY_ADMIN_PASSWORD={MARK}\nTEMPO_TOKEN={MARK}\n",
            "db.env": f"POSTGRES_PASSWORD={MARK}\nPOSTGRES_USER=beast\n",
        },
        working_dir=WORKING_DIR,
    )
    return inventory(
        prometheus,
        pushgateway,
        grafana,
        db,
        worker,
        other,
        files={prometheus.name: prom_files, grafana.name: grafana_files},
        volumes=[project_volume("prom-data"), project_volume("grafana-data")],
        networks=[project_network("monitoring"), Network("shared", "bridge")],
        projects=[project],
    )
