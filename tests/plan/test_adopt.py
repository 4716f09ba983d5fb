"""Plans of a host whose stack was made by hand (plan/adopt.py): the host read back and
rendered as the spec is, compared in the services' words; the takeover, what it would do to
data, and how to bring the hand-made stack back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.discover.commands import write_beside
from beast_observatory.discover.export import export_spec
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.probe.inventory import Container, Inventory
from beast_observatory.names import COMPOSE_ENV_FILE
from beast_observatory.plan.adopt import is_unmanaged, restore_args
from beast_observatory.plan.compute import make_plan
from beast_observatory.plan.model import Plan, format_plan
from bundles import compiled
from discover.handmade import WORKING_DIR, handmade_inventory
from inventory_builder import compose_labels, container, inventory, text_file, volume

DEPLOY = "/opt/observatory/beast"


def desired(tmp_path: Path, inv: Inventory, *edits: tuple[str, str]) -> Bundle:
    """The host's export, as a spec beside its files, edited, and compiled."""
    result = export_spec(inv, environment="remote", ssh_host="vonnegut")
    text = result.spec_text
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    spec = tmp_path / "spec" / "observatory.yaml"
    write_beside(spec, text, result.files)
    return compiled(spec.parent, text, None)


def plan_of(bundle: Bundle, inv: Inventory) -> Plan:
    return make_plan(bundle, inv, deploy_dir=DEPLOY, host="vonnegut")


def test_the_hosts_own_export_plans_nothing(tmp_path: Path) -> None:
    inv = handmade_inventory()
    plan = plan_of(desired(tmp_path, inv), inv)
    assert not plan.changed
    assert not plan.takeover
    assert plan.blockers == ()
    assert any(
        "nothing differs: the first apply that changes something takes the stack over" in n
        for n in plan.notes
    )
    assert plan.unmanaged["containers"] == ("zzz-prometheus-1",)


def test_a_change_takes_every_container_over_and_says_the_change(tmp_path: Path) -> None:
    inv = handmade_inventory()
    plan = plan_of(desired(tmp_path, inv, ("scrape_interval: 20s", "scrape_interval: 30s")), inv)
    assert plan.takeover
    assert sorted(plan.actions("recreate")) == ["db", "grafana", "prometheus", "pushgw", "worker"]
    prom = plan.service("prometheus")
    assert prom is not None
    assert prom.reasons[0] == "prometheus.yml global.scrape_interval: 20s -> 30s"
    assert prom.reasons[1].startswith("taken over: recreated from the generated compose file")
    assert f"compose project folder {WORKING_DIR} -> {DEPLOY}" in prom.reasons
    assert (
        f"/etc/prometheus: mounted from {DEPLOY}/prometheus "
        f"(was {WORKING_DIR}/prometheus at /etc/prometheus)" in prom.reasons
    )
    assert {f.action for f in plan.files} == {"add"}


def test_volumes_and_data_folders_that_stay_are_no_blockers_memory_only_metrics_are(
    tmp_path: Path,
) -> None:
    """Prometheus and Grafana keep their volumes, the database its bind-mounted folder; the
    Pushgateway without persistence would drop its pushed metrics."""
    inv = handmade_inventory()
    plan = plan_of(desired(tmp_path, inv, ("scrape_interval: 20s", "scrape_interval: 30s")), inv)
    assert plan.blockers == (
        "pushgw: the Pushgateway keeps pushed metrics in memory only: recreating it drops them",
    )
    assert "apply refuses this without --allow-data-move" in format_plan(plan)


def test_data_in_the_containers_own_layer_is_a_blocker(tmp_path: Path) -> None:
    prom = container("prometheus", "prom/prometheus:v2.53.2", labels=compose_labels(WORKING_DIR))
    inv = inventory(
        prom, files={prom.name: {"/etc/prometheus/prometheus.yml": "scrape_configs: []\n"}}
    )
    plan = plan_of(desired(tmp_path, inv, ("time: 15d", "time: 30d")), inv)
    assert plan.blockers == (
        "prometheus: /prometheus: its data is in the container's own layer and is lost when the "
        "container is recreated (copy it out first, or accept the loss)",
    )
    # Its configuration was baked into the image or edited in the container.
    reasons = plan.service("prometheus").reasons  # type: ignore[union-attr]
    assert any(r.startswith("/etc/prometheus: came from the container itself") for r in reasons)


def test_a_data_volume_the_spec_replaces_is_a_blocker(tmp_path: Path) -> None:
    inv = handmade_inventory()
    bundle = desired(tmp_path, inv, ("      volume: prom-data\n", "      path: /srv/prometheus\n"))
    plan = plan_of(bundle, inv)
    assert (
        "prometheus: /prometheus: data moves from volume beast_prom-data to bind /srv/prometheus"
        in plan.blockers
    )


def test_restore_brings_the_hand_made_stack_back_from_its_own_files(tmp_path: Path) -> None:
    inv = handmade_inventory()
    plan = plan_of(desired(tmp_path, inv, ("scrape_interval: 20s", "scrape_interval: 30s")), inv)
    compose_file = f"{WORKING_DIR}/docker-compose.yml"
    assert plan.restore == ("-p", "beast", "--project-directory", WORKING_DIR, "-f", compose_file)
    assert json.loads(json.dumps(plan.to_json()))["restore"] == list(plan.restore)


def test_restore_args_from_compose_labels() -> None:
    labels = {
        **compose_labels("/srv/b", ["compose.yml", "override.yml"]),
        COMPOSE_ENV_FILE: "/srv/b/prod.env",
    }
    relative = {
        **compose_labels("/srv/b"),
        "com.docker.compose.project.config_files": "compose.yml",
    }
    assert restore_args([container("a", "x", labels=labels)], "b") == (
        "-p", "b", "--project-directory", "/srv/b", "-f", "/srv/b/compose.yml",
        "-f", "/srv/b/override.yml", "--env-file", "/srv/b/prod.env",
    )  # fmt: skip
    assert restore_args([container("a", "x", labels=relative)], "b")[-2:] == (
        "-f",
        "/srv/b/compose.yml",
    )
    assert restore_args([container("a", "x")], "b") == ()  # made without compose's labels


def test_which_hosts_are_made_by_hand() -> None:
    ours = container(
        "prometheus", "prom/prometheus", labels={"org.beast-observatory.project": "beast"}
    )
    theirs = container("prometheus", "prom/prometheus")
    manifest = {"manifest.json": text_file("{}")}
    assert is_unmanaged(inventory(theirs), {}, "beast")
    assert not is_unmanaged(inventory(theirs), manifest, "beast")
    assert not is_unmanaged(inventory(ours), {}, "beast")
    assert not is_unmanaged(inventory(), {}, "beast")  # nothing runs: a first apply


def test_a_stack_that_cannot_be_read_back_is_a_user_error(tmp_path: Path) -> None:
    inv = handmade_inventory()
    bundle = desired(tmp_path, inv)
    broken = replace(
        inv,
        containers=tuple(
            replace(c, restart_policy="sometimes") if c.service == "prometheus" else c
            for c in inv.containers
        ),
    )
    with pytest.raises(ObservatoryError, match="could not be read back as a spec") as error:
        plan_of(bundle, broken)
    assert error.value.hint is not None
    assert "observatory export" in error.value.hint


def test_a_service_the_host_lacks_is_created_one_it_has_beyond_the_spec_removed(
    tmp_path: Path,
) -> None:
    inv = handmade_inventory()
    bundle = desired(
        tmp_path,
        inv,
        ("  extra:\n    db:\n", "  extra:\n    cache:\n      image: redis:7\n    db:\n"),
    )
    extra: Container = container(
        "sidecar", "busybox", labels=compose_labels(WORKING_DIR), mounts=[volume("s", "/s")]
    )
    plan = plan_of(bundle, replace(inv, containers=(*inv.containers, extra)))
    assert plan.service("cache").action == "create"  # type: ignore[union-attr]
    assert plan.service("sidecar").action == "remove"  # type: ignore[union-attr]
