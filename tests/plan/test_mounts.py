"""Where a service's data lives before and after an apply (plan/mounts.py)."""

from __future__ import annotations

from beast_observatory.plan.mounts import Planned, data_moves, planned_mounts
from inventory_builder import anonymous, bind, container, volume

DIRECTORY = "/opt/observatory/beast"


def planned(*entries: object, declared: dict[str, object] | None = None) -> list[Planned]:
    return planned_mounts(
        {"volumes": list(entries)}, project="beast", directory=DIRECTORY, declared=declared or {}
    )


def test_planned_mounts_are_what_docker_will_mount() -> None:
    assert planned(
        "./prometheus:/etc/prometheus:ro",
        "prometheus-data:/prometheus",
        "tsdb:/tsdb",
        "/srv/logs:/logs:rw",
        "/scratch",
        {"type": "bind", "source": "./files/x", "target": "/x", "read_only": True},
        {"type": "tmpfs", "target": "/run"},
        declared={"tsdb": {"name": "old_tsdb", "external": True}},
    ) == [
        Planned("bind", f"{DIRECTORY}/prometheus", "/etc/prometheus", read_only=True),
        Planned("volume", "beast_prometheus-data", "/prometheus", read_only=False),
        Planned("volume", "old_tsdb", "/tsdb", read_only=False),
        Planned("bind", "/srv/logs", "/logs", read_only=False),
        Planned("volume", "", "/scratch", read_only=False),
        Planned("bind", f"{DIRECTORY}/files/x", "/x", read_only=True),
        Planned("tmpfs", "", "/run", read_only=False),
    ]


def test_a_volume_or_a_data_folder_that_stays_is_no_move() -> None:
    live = container(
        "db",
        "postgres",
        mounts=[volume("pg", "/var/lib/postgresql/data"), bind("/srv/backups", "/backups")],
    )
    new = planned("pg:/var/lib/postgresql/data", "/srv/backups:/backups")
    assert (
        data_moves(
            live, new, directory=DIRECTORY, data_dir="/var/lib/postgresql/data", recreated=True
        )
        == []
    )


def test_data_that_moves_or_is_left_behind_is_named() -> None:
    live = container(
        "prometheus",
        "prom/prometheus",
        mounts=[volume("prom-data", "/prometheus"), bind("/srv/extra", "/extra")],
    )
    new = planned("/srv/prometheus:/prometheus")
    assert data_moves(live, new, directory=DIRECTORY, data_dir="/prometheus", recreated=True) == [
        "/extra: the data in bind /srv/extra is no longer mounted (it stays where it is, unused)",
        "/prometheus: data moves from volume beast_prom-data to bind /srv/prometheus",
    ]


def test_data_in_the_containers_own_layer_is_lost_when_it_is_recreated() -> None:
    live = container("alertmanager", "prom/alertmanager")
    assert data_moves(
        live, planned(), directory=DIRECTORY, data_dir="/alertmanager", recreated=True
    ) == [
        "/alertmanager: its data is in the container's own layer and is lost when the container "
        "is recreated (copy it out first, or accept the loss)"
    ]
    assert (
        data_moves(live, planned(), directory=DIRECTORY, data_dir="/alertmanager", recreated=False)
        == []
    )
    # Given a volume from now on, the new container starts with it empty: lost all the same.
    assert data_moves(
        live,
        planned("am-data:/alertmanager"),
        directory=DIRECTORY,
        data_dir="/alertmanager",
        recreated=True,
    )


def test_anonymous_volumes_and_configuration_from_the_release_are_no_data_moves() -> None:
    live = container(
        "prometheus",
        "prom/prometheus",
        mounts=[anonymous("/prometheus"), bind("/srv/beast/prometheus", "/etc/prometheus")],
    )
    new = planned("./prometheus:/etc/prometheus:ro")
    # compose carries an anonymous volume over to the new container; the writable config
    # folder of the host is replaced by the release's own (the plan names it apart).
    assert data_moves(live, new, directory=DIRECTORY, data_dir=None, recreated=True) == []
