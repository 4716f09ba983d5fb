"""The switch of live files on the host (real sh, real files, this machine as the host)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beast_observatory.deploy.apply import _switch_or_back
from beast_observatory.deploy.releases import Release, switch_to
from beast_observatory.errors import RuntimeFailure, TransportError
from beast_observatory.host.transport.local import LocalTransport


def release(root: Path, name: str, files: dict[str, str]) -> Release:
    path = root / "releases" / name
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    manifest = {"files": dict.fromkeys(files, "0" * 64)}
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return Release(name, str(path))


def test_a_switch_replaces_files_and_removes_what_the_release_dropped(tmp_path: Path) -> None:
    old = release(tmp_path, "0001-a", {"docker-compose.yml": "old\n", "prometheus/gone.yml": "x"})
    new = release(tmp_path, "0002-b", {"docker-compose.yml": "new\n"})
    switch_to(LocalTransport(), str(tmp_path), old)
    assert (tmp_path / "prometheus" / "gone.yml").exists()
    switch_to(LocalTransport(), str(tmp_path), new)
    assert (tmp_path / "docker-compose.yml").read_text() == "new\n"
    assert not (tmp_path / "prometheus" / "gone.yml").exists()
    assert json.loads((tmp_path / "manifest.json").read_text())["files"] == {
        "docker-compose.yml": "0" * 64
    }


def test_a_switch_that_stops_midway_puts_the_previous_release_back(tmp_path: Path) -> None:
    previous = release(tmp_path, "0001-a", {"docker-compose.yml": "old\n"})
    switch_to(LocalTransport(), str(tmp_path), previous)
    # A file where the new release needs a directory: the switch stops after
    # docker-compose.yml was already replaced (files are switched in sorted order).
    (tmp_path / "prometheus").write_text("in the way")
    new = release(
        tmp_path, "0002-b", {"docker-compose.yml": "new\n", "prometheus/prometheus.yml": "p"}
    )
    said: list[str] = []
    with pytest.raises(RuntimeFailure, match="switched back to release 0001-a"):
        _switch_or_back(LocalTransport(), str(tmp_path), new, previous, said.append)
    assert (tmp_path / "docker-compose.yml").read_text() == "old\n"
    assert any("switching back" in line for line in said)


class DroppedConnection(LocalTransport):
    """The connection dies when the switch starts (the switch itself runs on under nohup)."""

    def run(self, argv, **kwargs):  # type: ignore[no-untyped-def]  # noqa: ARG002
        raise TransportError("vonnegut: the SSH connection failed: the connection was closed")


def test_a_lost_connection_is_not_taken_for_a_failed_switch(tmp_path: Path) -> None:
    previous = release(tmp_path, "0001-a", {"docker-compose.yml": "old\n"})
    new = release(tmp_path, "0002-b", {"docker-compose.yml": "new\n"})
    said: list[str] = []
    with pytest.raises(TransportError):
        _switch_or_back(DroppedConnection(), str(tmp_path), new, previous, said.append)
    assert said == []  # no attempt to switch back over a dead connection
