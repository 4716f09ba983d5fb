"""Plans of a host this tool deployed to (plan/compute.py): a compiled bundle against what the
probe reports about the host, each change said in the services' words."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import compile_project
from beast_observatory.host.probe.inventory import Container, Inventory, Network, State, Volume
from beast_observatory.names import RESTART_HASH_LABEL
from beast_observatory.plan.compute import make_plan
from beast_observatory.plan.model import Plan, format_plan
from beast_observatory.spec.load import load_project
from beast_observatory.spec.starter import init_stack
from beast_observatory.yamlio import dump_yaml, load_yaml
from inventory_builder import container, deployed, text_file

DEPLOY = "/opt/observatory/beast-observatory"


def bundle_for(tmp_path: Path, old: str | None = None, new: str = "") -> Bundle:
    """The starter stack's remote environment, with old replaced by new in its spec."""
    spec = tmp_path / "observatory.yaml"
    if not spec.exists():
        init_stack(tmp_path, force=True)
    if old is not None:
        text = spec.read_text()
        assert old in text, old
        spec.write_text(text.replace(old, new))
    return compile_project(load_project(spec), ["remote"])["remote"]


def live_inventory(bundle: Bundle, *, files: dict[str, bytes] | None = None) -> Inventory:
    """The host where bundle was applied and runs, with a container and a volume of its own."""
    inv = deployed(bundle, directory=DEPLOY)
    tree = dict(files if files is not None else bundle.with_manifest())
    tree.setdefault("state.json", json.dumps({"spec_sha256": bundle.spec_sha256}).encode())
    own = container("handmade-nginx", "nginx", project=None)
    return replace(
        inv,
        containers=(*inv.containers, own),
        directories={DEPLOY: {p: text_file(d.decode(), f"{DEPLOY}/{p}") for p, d in tree.items()}},
        volumes=(*inv.volumes, Volume("handmade_data")),
        networks=(*inv.networks, Network("bridge", "bridge")),
    )


def plan_of(bundle: Bundle, inv: Inventory) -> Plan:
    return make_plan(bundle, inv, deploy_dir=DEPLOY, host="vonnegut")


def reasons(plan: Plan, service: str) -> tuple[str, ...]:
    found = plan.service(service)
    assert found is not None
    return found.reasons


def test_a_host_that_matches_the_spec_has_no_changes(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    plan = plan_of(bundle, live_inventory(bundle))
    assert not plan.changed
    assert not plan.takeover
    assert "No changes. The host matches the spec." in format_plan(plan)
    assert plan.unmanaged["containers"] == ("handmade-nginx",)
    assert plan.unmanaged["volumes"] == ("handmade_data",)
    assert plan.unmanaged["networks"] == ()


def test_an_apply_that_never_finished_reloads_prometheus(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    files["state.json"] = b'{"spec_sha256": "older"}'
    plan = plan_of(bundle, live_inventory(bundle, files=files))
    assert plan.actions("reload") == ["prometheus"]
    assert reasons(plan, "prometheus") == ("the last apply did not finish",)


def test_reformatted_files_on_the_host_are_not_drift(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    doc = load_yaml(files["prometheus/prometheus.yml"])
    files["prometheus/prometheus.yml"] = dump_yaml(dict(reversed(list(doc.items())))).encode()
    assert not plan_of(bundle, live_inventory(bundle, files=files)).changed


def test_a_changed_scrape_interval_reloads_prometheus_only(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "scrape_interval: 15s", "scrape_interval: 30s")
    plan = plan_of(new, live_inventory(old))
    assert plan.actions("reload") == ["prometheus"]
    assert plan.actions("recreate") == []
    assert reasons(plan, "prometheus") == ("prometheus.yml global.scrape_interval: 15s -> 30s",)
    assert [f.path for f in plan.files] == ["prometheus/prometheus.yml"]
    assert "-  scrape_interval: 15s" in plan.files[0].diff
    assert "+  scrape_interval: 30s" in plan.files[0].diff


def test_a_changed_external_label_is_named_as_such(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "observatory: beast", "observatory: vonnegut")
    plan = plan_of(new, live_inventory(old))
    assert reasons(plan, "prometheus") == (
        "prometheus.yml global.external_labels.observatory: beast -> vonnegut",
    )


def test_an_image_change_recreates_only_that_service(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "prom/pushgateway:v1.11.3", "prom/pushgateway:v1.11.2")
    plan = plan_of(new, live_inventory(old))
    assert plan.actions("recreate") == ["pushgateway"]
    assert reasons(plan, "pushgateway") == (
        "image prom/pushgateway:v1.11.3 -> prom/pushgateway:v1.11.2",
    )
    assert plan.actions("reload") == []
    assert plan.blockers == ()  # its data volume stays


def test_an_upgrade_to_prometheus_3_says_what_its_upgrade_notes_ask(tmp_path: Path) -> None:
    old = bundle_for(tmp_path, "prom/prometheus:v3.13.3", "prom/prometheus:v2.53.2")
    new = bundle_for(tmp_path, "prom/prometheus:v2.53.2", "prom/prometheus:v3.13.3")
    plan = plan_of(new, live_inventory(old))
    assert plan.actions("recreate") == ["prometheus"]
    said = reasons(plan, "prometheus")
    assert said[:2] == (
        "image prom/prometheus:v2.53.2 -> prom/prometheus:v3.13.3",
        "prometheus v2.53.2 -> v3.13.3: a major upgrade "
        "(see https://prometheus.io/docs/prometheus/latest/migration/)",
    )
    assert any("roll back only to v2.55+" in r for r in said)
    assert plan.blockers == ()  # the TSDB is kept
    text = format_plan(plan)
    assert "- prometheus v2.53.2 -> v3.13.3: a major upgrade" in text


def test_going_back_below_2_55_after_prometheus_3_is_refused(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "prom/prometheus:v3.13.3", "prom/prometheus:v2.53.2")
    plan = plan_of(new, live_inventory(old))
    assert plan.actions("recreate") == ["prometheus"]
    assert len(plan.blockers) == 1
    assert plan.blockers[0].startswith("prometheus: prometheus v3.13.3 -> v2.53.2: a TSDB")
    assert "pin v2.55+" in plan.blockers[0]


def test_back_to_2_55_is_a_note_not_a_blocker(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "prom/prometheus:v3.13.3", "prom/prometheus:v2.55.1")
    plan = plan_of(new, live_inventory(old))
    assert plan.blockers == ()
    assert "prometheus v3.13.3 -> v2.55.1: back to Prometheus 2" in reasons(plan, "prometheus")[1]


def test_an_image_without_a_version_says_only_the_image_change(tmp_path: Path) -> None:
    old = bundle_for(tmp_path, "prom/prometheus:v3.13.3", "prom/prometheus:v2.53.2")
    new = bundle_for(tmp_path, "prom/prometheus:v2.53.2", "prom/prometheus:latest")
    plan = plan_of(new, live_inventory(old))
    assert reasons(plan, "prometheus") == (
        "image prom/prometheus:v2.53.2 -> prom/prometheus:latest",
    )


def test_retention_change_is_explained_in_operator_terms(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "time: 30d", "time: 45d")
    plan = plan_of(new, live_inventory(old))
    assert reasons(plan, "prometheus") == ("time retention 30d -> 45d (restart, data kept)",)


def test_a_hand_edit_on_the_host_is_drift(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    files["prometheus/prometheus.yml"] += b"# hand edit\nremote_write: [{url: 'http://x'}]\n"
    plan = plan_of(bundle, live_inventory(bundle, files=files))
    assert plan.service("prometheus").action == "reload"  # type: ignore[union-attr]
    assert reasons(plan, "prometheus") == (
        'prometheus.yml remote_write: [{"url": "http://x"}] -> (unset)',
    )
    assert "-remote_write" in plan.files[0].diff


def test_an_empty_host_creates_everything(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    plan = plan_of(bundle, Inventory())
    assert sorted(plan.actions("create")) == ["grafana", "prometheus", "pushgateway"]
    assert {f.action for f in plan.files} == {"add"}
    doc = plan.to_json()
    assert doc["format_version"] == 1
    assert doc["changed"] is True
    json.dumps(doc)


def test_a_stopped_container_and_an_orphan_are_reported(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    inv = live_inventory(bundle)
    stopped = [
        replace(c, state=State(status="exited")) if c.service == "prometheus" else c
        for c in inv.containers
    ]
    orphan = container("old", "busybox", project=bundle.project)
    plan = plan_of(bundle, replace(inv, containers=(*stopped, orphan)))
    assert reasons(plan, "prometheus") == ("container is exited",)
    assert plan.actions("remove") == ["old"]
    assert reasons(plan, "old") == ("not in the spec (needs --allow-remove)",)


def test_a_changed_restart_hash_label_recreates(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    inv = live_inventory(bundle)

    def forged(c: Container) -> Container:
        if c.service != "grafana":
            return c
        return replace(c, labels={**c.labels, RESTART_HASH_LABEL: "0" * 64})

    plan = plan_of(bundle, replace(inv, containers=tuple(forged(c) for c in inv.containers)))
    assert plan.actions("recreate") == ["grafana"]
    assert reasons(plan, "grafana") == (
        "files it reads only at start changed (grafana.ini, provisioning, mounted files)",
    )


def test_a_grafana_ini_change_recreates_grafana_and_says_what_changed(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(tmp_path, "        enabled: false\n", "        enabled: true\n")
    plan = plan_of(new, live_inventory(old))
    assert plan.actions("recreate") == ["grafana"]
    assert "grafana.ini auth.anonymous.enabled: false -> true" in reasons(plan, "grafana")


def test_moving_data_to_a_host_path_is_a_blocker(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(
        tmp_path, "    port: 9091\n", "    port: 9091\n    data:\n      path: /srv/pushgateway\n"
    )
    plan = plan_of(new, live_inventory(old))
    assert plan.actions("recreate") == ["pushgateway"]
    assert plan.blockers == (
        "pushgateway: /pushgateway: data moves from volume beast-observatory_pushgateway-data "
        "to bind /srv/pushgateway",
    )
    assert "apply refuses this without --allow-data-move" in format_plan(plan)


def test_a_memory_limit_recreates_only_that_service(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    new = bundle_for(
        tmp_path, "    port: 9091\n", "    port: 9091\n    resources:\n      memory: 256m\n"
    )
    plan = plan_of(new, live_inventory(old))
    assert [(s.service, s.action, s.reasons) for s in plan.services if s.action != "unchanged"] == [
        ("pushgateway", "recreate", ("mem_limit: (unset) -> 256m",))
    ]


@pytest.mark.parametrize("service", ["grafana", "prometheus", "pushgateway"])
def test_the_plan_names_every_service_of_the_spec(tmp_path: Path, service: str) -> None:
    bundle = bundle_for(tmp_path)
    assert plan_of(bundle, live_inventory(bundle)).service(service) is not None


def test_ports_environment_restart_and_flags_are_named(tmp_path: Path) -> None:
    old = bundle_for(tmp_path)
    bundle_for(tmp_path, "    port: 9091\n", "    port: 19091\n    restart: always\n")
    new = bundle_for(
        tmp_path,
        "  grafana:\n",
        "  grafana:\n    environment:\n      GF_LOG_LEVEL: debug\n"
        "    extra_flags: [--homepath=/usr/share/grafana]\n",
    )
    plan = plan_of(new, live_inventory(old))
    assert reasons(plan, "pushgateway") == (
        "ports 127.0.0.1:9091:9091 -> 127.0.0.1:19091:9091",
        "restart policy unless-stopped -> always",
    )
    assert reasons(plan, "grafana")[:2] == (
        "flag homepath: (unset) -> /usr/share/grafana",
        "environment GF_LOG_LEVEL changed",
    )


def test_only_files_of_the_hosts_manifest_are_removed(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    files = dict(bundle.with_manifest())
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["prometheus/rules/gone.yml"] = "0" * 64
    files["manifest.json"] = json.dumps(manifest).encode()
    files["prometheus/rules/gone.yml"] = b"groups: []\n"
    files["notes.txt"] = b"the operator's own file\n"  # not the tool's: left alone
    plan = plan_of(bundle, live_inventory(bundle, files=files))
    assert [(f.path, f.action) for f in plan.files] == [("prometheus/rules/gone.yml", "remove")]
    assert plan.actions("reload") == ["prometheus"]


def test_a_file_the_probe_could_not_read_is_compared_by_its_hash(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    inv = live_inventory(bundle)
    path = "grafana/dashboards/observatory/observatory-overview.json"
    records = dict(inv.directories[DEPLOY])
    records[path] = replace(records[path], content=None, error="too big to read")
    assert not plan_of(bundle, replace(inv, directories={DEPLOY: records})).changed
    records[path] = replace(records[path], sha256="0" * 64)
    plan = plan_of(bundle, replace(inv, directories={DEPLOY: records}))
    assert [(f.path, f.action) for f in plan.files] == [(path, "change")]
    assert "Grafana picks up dashboard files through provisioning, without a restart" in plan.notes


def test_anonymous_volumes_left_alone_are_counted_not_listed(tmp_path: Path) -> None:
    bundle = bundle_for(tmp_path)
    inv = live_inventory(bundle)
    anonymous = ("a" * 64, "0123456789abcdef" * 4)
    inv = replace(inv, volumes=(*inv.volumes, *(Volume(n) for n in anonymous)))
    plan = plan_of(bundle, inv)
    assert set(plan.unmanaged["volumes"]) == {"handmade_data", *anonymous}  # JSON: every name
    text = format_plan(plan)
    assert "(left alone): volumes: handmade_data, 2 anonymous\n" in text
    assert "a" * 64 not in text
