"""Staging a release and switching the live files to it on the host (real sh, real files, tar
and cp; this machine as the host, no Docker)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from beast_observatory.bundle.bundle import Bundle, sha256
from beast_observatory.deploy.releases import (
    FILES_LIST,
    Release,
    SwitchFailedError,
    stage_release,
    switch_to,
)
from beast_observatory.errors import ObservatoryError, TransportError
from beast_observatory.host.lock import HostLock
from beast_observatory.host.transport.local import LocalTransport


def release(root: Path, name: str, files: dict[str, str]) -> Release:
    path = root / "releases" / name
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    manifest = {"files": {rel: sha256(text.encode()) for rel, text in files.items()}}
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (path / FILES_LIST).write_text("".join(f"{rel}\n" for rel in sorted(files)))
    return Release(name, str(path))


def test_a_switch_replaces_files_and_removes_what_it_is_told(tmp_path: Path) -> None:
    old = release(tmp_path, "0001-a", {"docker-compose.yml": "old\n", "prometheus/gone.yml": "x"})
    new = release(tmp_path, "0002-b", {"docker-compose.yml": "new\n"})
    switch_to(LocalTransport(), str(tmp_path), old)
    assert (tmp_path / "prometheus" / "gone.yml").exists()
    (tmp_path / "operator-notes.txt").write_text("mine")
    switch_to(LocalTransport(), str(tmp_path), new, remove=["prometheus/gone.yml"])
    assert (tmp_path / "docker-compose.yml").read_text() == "new\n"
    assert not (tmp_path / "prometheus" / "gone.yml").exists()
    assert (tmp_path / "operator-notes.txt").read_text() == "mine"  # not named: left alone
    assert json.loads((tmp_path / "manifest.json").read_text())["files"] == {
        "docker-compose.yml": sha256(b"new\n")
    }
    assert not (tmp_path / ".observatory-switch.list").exists()
    assert not list(tmp_path.glob("**/.*.switch-*"))


def test_a_release_without_a_file_list_still_switches(tmp_path: Path) -> None:
    """Releases staged before they carried files.list: their files are found on the host."""
    old = release(tmp_path, "0001-a", {"docker-compose.yml": "old\n", "grafana/grafana.ini": "g"})
    (Path(old.path) / FILES_LIST).unlink()
    switch_to(LocalTransport(), str(tmp_path), old)
    assert (tmp_path / "grafana" / "grafana.ini").read_text() == "g"


def test_a_switch_that_stops_midway_says_so(tmp_path: Path) -> None:
    previous = release(tmp_path, "0001-a", {"docker-compose.yml": "old\n"})
    switch_to(LocalTransport(), str(tmp_path), previous)
    # A file where the new release needs a directory: the switch stops after
    # docker-compose.yml was already replaced (files are switched in sorted order).
    (tmp_path / "prometheus").write_text("in the way")
    new = release(
        tmp_path, "0002-b", {"docker-compose.yml": "new\n", "prometheus/prometheus.yml": "p"}
    )
    with pytest.raises(SwitchFailedError, match="switching the live files failed"):
        switch_to(LocalTransport(), str(tmp_path), new)
    assert (tmp_path / ".observatory-switch.list").exists()  # it never finished
    switch_to(LocalTransport(), str(tmp_path), previous)  # what apply then does
    assert (tmp_path / "docker-compose.yml").read_text() == "old\n"


def bundle(files: dict[str, bytes], secret: frozenset[str] = frozenset()) -> Bundle:
    return Bundle("obs", "remote", "f" * 64, files, secret)


def test_staging_sends_what_changed_and_copies_the_rest_on_the_host(tmp_path: Path) -> None:
    live = {"docker-compose.yml": b"services: {}\n", "prometheus/prometheus.yml": b"old\n"}
    for rel, data in live.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    new = bundle(
        {**live, "prometheus/prometheus.yml": b"new\n", "pushgateway/web.yml": b"hash\n"},
        frozenset({"pushgateway/web.yml"}),
    )
    hashes = {rel: sha256(data) for rel, data in live.items()}
    first = stage_release(LocalTransport(), str(tmp_path), new, hashes)
    assert first.name == "0001-ffffffffffff"
    staged = Path(first.path)
    assert {str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()} == {
        "docker-compose.yml",
        "prometheus/prometheus.yml",
        "pushgateway/web.yml",
        "manifest.json",
        FILES_LIST,
    }
    assert (staged / "prometheus/prometheus.yml").read_bytes() == b"new\n"
    assert (staged / "docker-compose.yml").read_bytes() == live["docker-compose.yml"]
    assert (staged / "pushgateway/web.yml").stat().st_mode & 0o777 == 0o600
    assert (staged / "prometheus/prometheus.yml").stat().st_mode & 0o777 == 0o644
    assert (staged / FILES_LIST).read_text().splitlines() == sorted(new.files)
    assert json.loads((staged / "manifest.json").read_bytes()) == new.manifest()

    (tmp_path / "releases" / ".staging-0123abcd").mkdir()  # left by an interrupted apply
    (tmp_path / "releases" / "0009-foreign").mkdir()
    second = stage_release(LocalTransport(), str(tmp_path), new, hashes)
    assert second.name == "0010-ffffffffffff"
    assert not (tmp_path / "releases" / ".staging-0123abcd").exists()


def test_staging_fails_whole_when_an_unchanged_file_is_gone(tmp_path: Path) -> None:
    new = bundle({"docker-compose.yml": b"x\n"})
    with pytest.raises(ObservatoryError, match="not in the live files") as caught:
        stage_release(LocalTransport(), str(tmp_path), new, {"docker-compose.yml": sha256(b"x\n")})
    assert "nothing was switched" in (caught.value.hint or "")
    assert [p.name for p in (tmp_path / "releases").iterdir()] == [
        p.name for p in (tmp_path / "releases").iterdir() if p.name.startswith(".staging-")
    ]


def test_a_switch_completes_when_the_lock_session_that_started_it_is_killed(
    tmp_path: Path,
) -> None:
    """The lock's session killed, process group and all (what closing it after Ctrl-C does on
    this machine), while it waits for the switch: the switch, in a session of its own,
    completes, and the live files are the new release, not a mix."""
    old = release(tmp_path, "0001-a", {f"d/{i:04d}.yml": "old\n" for i in range(250)})
    new = release(tmp_path, "0002-b", {f"d/{i:04d}.yml": "new\n" for i in range(250)})
    switch_to(LocalTransport(), str(tmp_path), old)
    marker = tmp_path / ".observatory-switch.list"
    lock_path = str(tmp_path / ".observatory.lock")

    def kill_the_lock_session() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(os.getpgid(lock_shell(lock_path)), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_lock_session)
    with HostLock(LocalTransport(), lock_path) as host:
        killer.start()
        with pytest.raises(TransportError, match="ended"):
            switch_to(host, str(tmp_path), new)
    killer.join()
    deadline = time.monotonic() + 60
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not marker.exists(), "the switch did not complete"
    assert {p.read_text() for p in (tmp_path / "d").iterdir()} == {"new\n"}


def lock_shell(lock_path: str) -> int:
    """The pid of the shell holding lock_path (host/scripts/lock.sh)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:2] == [b"sh", b"-c"] and argv[3:5] == [b"lock", lock_path.encode()]:
                return int(entry.name)
    raise AssertionError(f"no shell holds {lock_path}")
