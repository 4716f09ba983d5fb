"""Plans computed from a real compiled bundle against hand-made inventories (no host)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import compile_project
from beast_observatory.plan.compute import make_plan
from beast_observatory.plan.files import mask_secrets, same_content
from beast_observatory.plan.model import format_plan
from beast_observatory.render.compose import RESTART_HASH_LABEL
from beast_observatory.spec.load import load_project
from beast_observatory.spec.starter import init_stack
from beast_observatory.yamlio import dump_yaml, load_yaml

DEPLOY = "/opt/observatory/beast-observatory"


def bundle_for(tmp_path: Path, edit: str | None = None) -> Bundle:
    init_stack(tmp_path, force=True)
    spec = tmp_path / "observatory.yaml"
    if edit:
        spec.write_text(spec.read_text() + edit)
    project = load_project(spec)
    return compile_project(project, ["remote"])["remote"]


def record(data: bytes) -> dict[str, Any]:
    return {
        "content": data.decode(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "host_path": "",
        "size": len(data),
        "error": None,
    }


def live_inventory(bundle: Bundle, *, files: dict[str, bytes] | None = None) -> dict[str, Any]:
    """What the probe would see on a host where bundle was applied and is running."""
    compose = load_yaml(bundle.files["docker-compose.yml"], "c")
    containers = []
    for name, svc in compose["services"].items():
        ports: dict[str, list[dict[str, str]]] = {}
        for p in svc.get("ports") or []:
            ip, host, cport = p.rsplit(":", 2)
            ports[f"{cport}/tcp"] = [{"host_ip": ip, "host_port": host}]
        containers.append(
            {
                "name": f"/{bundle.project}-{name}-1",
                "image": svc["image"],
                "cmd": svc.get("command"),
                "env": {
                    k: v for k, v in (svc.get("environment") or {}).items() if "${" not in str(v)
                },
                "labels": {
                    **svc["labels"],
                    "com.docker.compose.project": bundle.project,
                    "com.docker.compose.service": name,
                },
                "ports": ports,
                "restart_policy": svc["restart"],
                "state": {"status": "running", "health": "healthy"},
            }
        )
    containers.append(
        {"name": "/handmade-nginx", "image": "nginx", "labels": {}, "state": {"status": "running"}}
    )
    tree = files if files is not None else dict(bundle.with_manifest())
    tree.setdefault("state.json", json.dumps({"spec_sha256": bundle.spec_sha256}).encode())
    return {
        "containers": containers,
        "directories": {DEPLOY: {p: record(d) for p, d in tree.items()}},
        "volumes": [{"name": f"{bundle.project}_prometheus-data"}, {"name": "handmade_data"}],
        "networks": [{"name": f"{bundle.project}_observatory"}, {"name": "bridge"}],
    }


def test_an_apply_that_never_finished_reloads_prometheus(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    files["state.json"] = b'{"spec_sha256": "older"}'
    plan = make_plan(bundle, live_inventory(bundle, files=files), deploy_dir=DEPLOY, host="h")
    assert plan.actions("reload") == ["prometheus"]
    assert plan.service("prometheus").reasons == ("the last apply did not finish",)  # type: ignore[union-attr]


def test_a_host_that_matches_the_spec_has_no_changes(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    plan = make_plan(bundle, live_inventory(bundle), deploy_dir=DEPLOY, host="vonnegut")
    assert not plan.changed
    assert "No changes" in format_plan(plan)
    assert plan.unmanaged["containers"] == ("handmade-nginx",)
    assert plan.unmanaged["volumes"] == ("handmade_data",)


def test_reformatted_files_on_the_host_are_not_drift(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    doc = load_yaml(files["prometheus/prometheus.yml"], "p")
    files["prometheus/prometheus.yml"] = dump_yaml(dict(reversed(list(doc.items())))).encode()
    plan = make_plan(bundle, live_inventory(bundle, files=files), deploy_dir=DEPLOY, host="h")
    assert not plan.changed


def test_a_changed_scrape_interval_reloads_prometheus_only(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, edit="")
    spec = tmp_path / "observatory.yaml"
    spec.write_text(spec.read_text().replace("scrape_interval: 15s", "scrape_interval: 30s"))
    new = compile_project(load_project(spec), ["remote"])["remote"]
    plan = make_plan(new, live_inventory(old), deploy_dir=DEPLOY, host="h")
    assert plan.changed
    prom = plan.service("prometheus")
    assert prom is not None
    assert prom.action == "reload"
    assert any("global.scrape_interval 15s -> 30s" in r for r in prom.reasons)
    assert [f.path for f in plan.files] == ["prometheus/prometheus.yml"]
    assert plan.actions("recreate") == []
    assert plan.actions("reload") == ["prometheus"]
    diff = plan.files[0].diff
    assert "-  scrape_interval: 15s" in diff
    assert "+  scrape_interval: 30s" in diff


def test_an_image_change_recreates_only_that_service(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    spec = tmp_path / "observatory.yaml"
    spec.write_text(spec.read_text().replace("prom/pushgateway:v1.9.0", "prom/pushgateway:v1.10.0"))
    new = compile_project(load_project(spec), ["remote"])["remote"]
    plan = make_plan(new, live_inventory(old), deploy_dir=DEPLOY, host="h")
    assert plan.actions("recreate") == ["pushgateway"]
    assert plan.service("pushgateway").reasons == (
        "image prom/pushgateway:v1.9.0 -> prom/pushgateway:v1.10.0",
    )  # type: ignore[union-attr]
    assert plan.actions("reload") == []


def test_retention_change_is_explained_in_operator_terms(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    spec = tmp_path / "observatory.yaml"
    spec.write_text(spec.read_text().replace("time: 30d", "time: 45d"))
    new = compile_project(load_project(spec), ["remote"])["remote"]
    plan = make_plan(new, live_inventory(old), deploy_dir=DEPLOY, host="h")
    assert plan.service("prometheus").reasons == ("time retention 30d -> 45d (restart, data kept)",)  # type: ignore[union-attr]


def test_a_hand_edit_on_the_host_is_drift(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    files["prometheus/prometheus.yml"] += b"# hand edit\nremote_write: [{url: 'http://x'}]\n"
    plan = make_plan(bundle, live_inventory(bundle, files=files), deploy_dir=DEPLOY, host="h")
    assert plan.service("prometheus").action == "reload"  # type: ignore[union-attr]
    assert "-remote_write" in plan.files[0].diff


def test_an_empty_host_creates_everything(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    plan = make_plan(bundle, {"containers": [], "directories": {}}, deploy_dir=DEPLOY, host="h")
    assert sorted(plan.actions("create")) == ["grafana", "prometheus", "pushgateway"]
    assert {f.action for f in plan.files} == {"add"}
    doc = plan.to_json()
    assert doc["format_version"] == 1
    assert doc["changed"] is True
    json.dumps(doc)


def test_a_stopped_container_and_an_orphan_are_reported(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    inv = live_inventory(bundle)
    inv["containers"][0]["state"]["status"] = "exited"
    inv["containers"].append(
        {
            "name": "/x-old-1",
            "labels": {
                "com.docker.compose.project": bundle.project,
                "com.docker.compose.service": "old",
            },
        }
    )
    plan = make_plan(bundle, inv, deploy_dir=DEPLOY, host="h")
    assert plan.service("prometheus").reasons == ("container is exited",)  # type: ignore[union-attr]
    assert plan.actions("remove") == ["old"]


def test_a_changed_restart_hash_label_recreates(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    inv = live_inventory(bundle)
    graf = next(
        c for c in inv["containers"] if c["labels"].get("com.docker.compose.service") == "grafana"
    )
    graf["labels"][RESTART_HASH_LABEL] = "0" * 64
    plan = make_plan(bundle, inv, deploy_dir=DEPLOY, host="h")
    assert plan.actions("recreate") == ["grafana"]


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("admin_password = hunter2\n", "hunter2"),
        ("  basicAuthPassword: s3cret\n", "s3cret"),
        ("users:\n  bob: $2b$10$" + "a" * 53 + "\n", "a" * 53),
        ("global:\n  slack_api_url: https://hooks.slack.com/services/T0/B0/XYZ\n", "XYZ"),
        ("      - routing_key: 0123456789abcdef\n", "0123456789abcdef"),
        ("      service_key: pd-key\n", "pd-key"),
        ("      bot_token: '123:abc'\n", "123:abc"),
        ("      httpHeaderValue1: Bearer eyJhbGciOi\n", "eyJhbGciOi"),
        ("  Authorization: Basic YWRtaW46cHc=\n", "YWRtaW46cHc="),
        ('  "opsgenie_api_key": "og-key",\n', "og-key"),
        ("      - url: http://bot:hookpw@hooks.internal:8080/alert\n", "hookpw"),
        ("url = mysql://grafana:DbPassw0rd@db:3306/grafana\n", "DbPassw0rd"),
        ("      api_url: https://u:apipw@api.telegram.org\n", "apipw"),
    ],
)
def test_diffs_mask_secrets(text: str, hidden: str) -> None:
    assert hidden not in mask_secrets(text)
    assert "<masked" in mask_secrets(text)


def test_diffs_mask_only_the_password_of_a_url() -> None:
    assert mask_secrets("  - url: http://bot:hookpw@hooks.internal:8080/alert\n") == (
        "  - url: http://bot:<masked>@hooks.internal:8080/alert\n"
    )
    assert mask_secrets('  "routing_key": "abc",\n') == '  "routing_key": <masked>,\n'


@pytest.mark.parametrize(
    "line",
    [
        "  smtp_auth_password_file: /etc/alertmanager/secrets/smtp",
        "  token_url: https://auth.example/token",
        "  api_url: https://api.telegram.org",
        "  url: http://bot:${HOOK_PASSWORD}@hooks.internal/alert",
        "      password: $__env{DB_PASSWORD}",
        "  GF_SECURITY_ADMIN_PASSWORD__FILE: /run/secrets/gf_security_admin_password",
        "      httpHeaderName1: Authorization",
        "  type: Bearer",
        "  resolve_timeout: 5m",
    ],
)
def test_diffs_keep_references_paths_and_plain_values(line: str) -> None:
    assert mask_secrets(line + "\n") == line + "\n"


def test_ini_files_compare_by_content() -> None:
    assert same_content("g.ini", "[a]\nx = 1\ny = 2\n", "[a]\ny = 2\nx=1\n")
    assert not same_content("g.ini", "[a]\nx = 1\n", "[a]\nx = 2\n")
