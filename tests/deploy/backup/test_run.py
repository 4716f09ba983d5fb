"""backup and restore against the recording fake host: what runs where, in which order, what the
archive holds and what lands in the volumes (the real archive code, a fake host)."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import compile_project
from beast_observatory.deploy.backup.archive import verify_archive
from beast_observatory.deploy.backup.manifest import ArchiveError
from beast_observatory.deploy.backup.run import backup, restore
from beast_observatory.deploy.target import Placement
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.transport.base import HostTarget
from beast_observatory.spec.load import load_project
from beast_observatory.spec.resolve import Stack
from beast_observatory.spec.starter import init_stack
from deploy.fake_host import DEPLOY, Fault

from .fake_data_host import DataHost, tree_of

PLACEMENT = Placement(HostTarget("fakehost"), DEPLOY, f"{DEPLOY}/.observatory.lock", remote=True)
SECRET = "vonnegut-grafana-password-7d1e"
PROMETHEUS = "beast-observatory_prometheus-data"
GRAFANA = "beast-observatory_grafana-data"
PUSHGATEWAY = "beast-observatory_pushgateway-data"
ALERTMANAGER = "beast-observatory_alertmanager-data"
TSDB = {"wal/00000000": b"\x00\x01wal" * 1000, "chunks_head/000001": b"head" * 500, "lock": b""}


@pytest.fixture
def envs(tmp_path: Path) -> dict[str, tuple[Bundle, Stack]]:
    """The starter spec; remote also runs Alertmanager."""
    init_stack(tmp_path, force=True)
    path = tmp_path / "observatory.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["environments"]["remote"]["services"]["alertmanager"] = {"enabled": True}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    project = load_project(path)
    bundles = compile_project(project, ["local", "remote"])
    return {env: (bundles[env], project.stack(env)) for env in ("local", "remote")}


def deployed(bundle: Bundle, places: dict[str, dict[str, bytes]]) -> DataHost:
    """A host running bundle, with the operator's .env and these volumes."""
    host = DataHost(places={k: dict(v) for k, v in places.items()})
    for rel, data in bundle.with_manifest().items():
        host.files[f"{DEPLOY}/{rel}"] = data
    host.files[f"{DEPLOY}/.env"] = f"GRAFANA_ADMIN_PASSWORD={SECRET}\n".encode()
    host.files[f"{DEPLOY}/state.json"] = b'{"release": "0003-0123456789ab", "spec_sha256": "x"}\n'
    return host


VONNEGUT = {
    PROMETHEUS: TSDB,
    GRAFANA: {"grafana.db": b"SQLite format 3\x00" + bytes(4096)},
    PUSHGATEWAY: {"pushgateway.db": b"pushed"},
    ALERTMANAGER: {"silences": b"silence", "nflog": b"log"},
}


def backed_up(
    envs: dict[str, Any], tmp_path: Path, places: dict[str, dict[str, bytes]] | None = None
) -> tuple[DataHost, Path, list[str]]:
    bundle, stack = envs["remote"]
    host = deployed(bundle, VONNEGUT if places is None else places)
    out = tmp_path / "vonnegut.tar"
    said: list[str] = []
    backup(host, PLACEMENT, bundle, stack, out, echo=said.append)
    return host, out, said


def test_a_backup_holds_every_volume_and_the_release_and_never_env(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    _, out, said = backed_up(envs, tmp_path)
    manifest = verify_archive(out)
    assert [p.id for p in manifest.parts] == [
        "alertmanager",
        "grafana",
        "prometheus",
        "pushgateway",
    ]
    assert manifest.release_name == "0003-0123456789ab"
    assert (manifest.environment, manifest.host) == ("remote", "fakehost")
    with tarfile.open(out) as tar:
        names = tar.getnames()
        for part in manifest.parts:
            member = tar.extractfile(part.member)
            assert member is not None
            assert tree_of(member.read()) == VONNEGUT[part.source]
    assert names[0] == "manifest.json"
    assert "release/docker-compose.yml" in names
    assert "release/state.json" in names
    assert not [n for n in names if n.endswith("/.env")]
    assert SECRET.encode() not in out.read_bytes()
    assert len(said) == 4
    assert said[2].startswith(f"prometheus (volume {PROMETHEUS}): ")


def test_each_service_is_stopped_for_its_own_copy_under_the_host_lock(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    host, _, _ = backed_up(envs, tmp_path)
    assert host.steps()[:4] == ["lock", "read docker-compose.yml", "read manifest.json", "check"]
    assert all(s.startswith("read ") for s in host.steps()[4:-4])
    assert host.steps()[-4:] == [f"copy out {v}" for v in sorted(VONNEGUT)]
    assert host.stopped == host.started == ["alertmanager", "grafana", "prometheus", "pushgateway"]
    assert host.sessions == 1 + 4  # the lock's, and one per part
    assert not [s for s in host.steps() if s.startswith(("write", "create", "copy in"))]


def test_a_volume_that_is_not_there_is_said_and_left_out(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    places = {k: v for k, v in VONNEGUT.items() if k != ALERTMANAGER}
    _, out, said = backed_up(envs, tmp_path, places)
    assert [p.id for p in verify_archive(out).parts] == ["grafana", "prometheus", "pushgateway"]
    assert said[0] == (
        f"note: alertmanager (volume {ALERTMANAGER}): not on the host (the service never "
        "ran?): not backed up"
    )


def test_nothing_deployed_is_refused(envs: dict[str, Any], tmp_path: Path) -> None:
    bundle, stack = envs["remote"]
    with pytest.raises(ObservatoryError, match="nothing is deployed in /srv/observatory"):
        backup(DataHost(), PLACEMENT, bundle, stack, tmp_path / "x.tar", echo=print)
    assert list(tmp_path.glob("x.tar*")) == []


@pytest.mark.parametrize(
    ("rc", "stderr", "hint"),
    [
        (1, "tar: ./wal/00000001: short read", "started again; nothing was kept"),
        (71, "containers not started again: 3f2a", "observatory up"),
    ],
)
def test_a_copy_that_fails_leaves_no_archive(
    envs: dict[str, Any], tmp_path: Path, rc: int, stderr: str, hint: str
) -> None:
    bundle, stack = envs["remote"]
    host = deployed(bundle, VONNEGUT)
    host.expect([Fault(f"copy out {PROMETHEUS}", rc=rc, stderr=stderr)])
    out = tmp_path / "vonnegut.tar"
    with pytest.raises(ObservatoryError) as caught:
        backup(host, PLACEMENT, bundle, stack, out, echo=lambda _: None)
    assert stderr in caught.value.message
    assert f"prometheus (volume {PROMETHEUS})" in caught.value.message
    assert hint in (caught.value.hint or "")
    assert list(tmp_path.glob("vonnegut.tar*")) == []
    assert host.stopped == host.started  # whatever happened, the services run again


def test_a_restore_onto_an_environment_without_data_creates_its_volumes(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    _, out, _ = backed_up(envs, tmp_path)
    bundle, stack = envs["remote"]
    host = DataHost()
    said: list[str] = []
    result = restore(host, PLACEMENT, bundle, stack, out, replace_data=False, echo=said.append)
    assert host.places == VONNEGUT
    assert len(result.restored) == 4
    assert host.steps() == [
        "lock",
        "check",
        *(f"create volume {v}" for v in sorted(VONNEGUT)),
        *(f"copy in {v}" for v in sorted(VONNEGUT)),
    ]
    assert host.volume_labels[PROMETHEUS] == [
        "com.docker.compose.project=beast-observatory",
        "com.docker.compose.volume=prometheus-data",
    ]


def test_data_that_is_there_is_not_replaced_unless_told(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    _, out, _ = backed_up(envs, tmp_path)
    bundle, stack = envs["remote"]
    herbert = {PROMETHEUS: {"wal/00000000": b"herbert's own"}}
    host = DataHost(places={k: dict(v) for k, v in herbert.items()})
    with pytest.raises(ObservatoryError, match="already holds data in prometheus") as caught:
        restore(host, PLACEMENT, bundle, stack, out, replace_data=False, echo=print)
    assert "nothing was restored" in caught.value.message
    assert "--replace" in (caught.value.hint or "")
    assert host.places == herbert
    assert host.steps() == ["lock", "check"]

    restore(host, PLACEMENT, bundle, stack, out, replace_data=True, echo=lambda _: None)
    assert host.places == VONNEGUT


def test_a_damaged_archive_is_refused_before_anything_reaches_the_host(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    _, out, _ = backed_up(envs, tmp_path)
    data = bytearray(out.read_bytes())
    with tarfile.open(out) as tar:
        data[tar.getmember("data/grafana.tar").offset_data + 700] ^= 0x20
    out.write_bytes(bytes(data))
    bundle, stack = envs["remote"]
    host = DataHost()
    with pytest.raises(ArchiveError, match=r"data/grafana\.tar: .* the manifest says"):
        restore(host, PLACEMENT, bundle, stack, out, replace_data=True, echo=print)
    assert host.calls == []
    assert host.places == {}


def test_vonneguts_backup_goes_onto_herberts_local_environment(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    """local runs no Alertmanager: that part is left out, the rest lands in local's volumes."""
    _, out, _ = backed_up(envs, tmp_path)
    bundle, stack = envs["local"]
    host = DataHost()
    said: list[str] = []
    result = restore(host, PLACEMENT, bundle, stack, out, replace_data=False, echo=said.append)
    assert [p.archived for p in result.restored] == ["grafana", "prometheus", "pushgateway"]
    assert said[0] == "note: alertmanager: the target has no such data: not restored"
    assert host.places[PROMETHEUS] == TSDB
    assert ALERTMANAGER not in host.places


def test_an_archive_with_nothing_for_the_environment_is_refused(
    envs: dict[str, Any], tmp_path: Path
) -> None:
    _, out, _ = backed_up(envs, tmp_path, {ALERTMANAGER: VONNEGUT[ALERTMANAGER]})
    bundle, stack = envs["local"]
    host = DataHost()
    with pytest.raises(ObservatoryError, match="nothing in it has a place in environment local"):
        restore(host, PLACEMENT, bundle, stack, out, replace_data=False, echo=print)
    assert host.calls == []


def test_a_restore_that_fails_on_the_host_says_why(envs: dict[str, Any], tmp_path: Path) -> None:
    _, out, _ = backed_up(envs, tmp_path)
    bundle, stack = envs["remote"]
    host = DataHost()
    host.expect([Fault(f"copy in {GRAFANA}", rc=1, stderr="tar: write error: No space left")])
    with pytest.raises(ObservatoryError, match="No space left") as caught:
        restore(host, PLACEMENT, bundle, stack, out, replace_data=False, echo=lambda _: None)
    assert f"restoring grafana (volume {GRAFANA}) failed" in caught.value.message
    assert host.stopped == host.started
