"""The archive file: a plain tar, manifest.json first, written incrementally, checked whole."""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from beast_observatory.deploy.backup.archive import ArchiveWriter, members, verify_archive
from beast_observatory.deploy.backup.manifest import (
    ArchiveError,
    BackupManifest,
    PartRecord,
    digest_of,
)

FILES = {"docker-compose.yml": b"services: {}\n", "prometheus/prometheus.yml": b"global: {}\n"}
PART = os.urandom(300_000)
SKELETON = BackupManifest(
    project="beast",
    environment="local",
    host="this machine",
    directory="/srv/deploy",
    created="2026-12-01T11:15:00+00:00",
    tool_version="0.1.0",
    files={rel: digest_of(data) for rel, data in FILES.items()},
    parts=(PartRecord("prometheus", "volume", "beast_prometheus-data", ("prometheus",)),),
)


def write(path: Path, chunks: list[bytes] | None = None) -> BackupManifest:
    with ArchiveWriter(path, SKELETON.room()) as archive:
        for rel, data in FILES.items():
            archive.add(f"release/{rel}", data)
        step = 7_777
        stream = chunks or [PART[i : i + step] for i in range(0, len(PART), step)]
        digest = archive.add_stream("data/prometheus.tar", iter(stream))
        manifest = replace(SKELETON, parts=(replace(SKELETON.parts[0], digest=digest),))
        archive.finish(manifest)
    return manifest


def test_it_is_a_tar_with_the_manifest_first_and_every_member_whole(tmp_path: Path) -> None:
    path = tmp_path / "backup.tar"
    manifest = write(path)
    with tarfile.open(path) as tar:  # any tar reader will do
        names = tar.getnames()
        assert names[0] == "manifest.json"
        assert tar.extractfile("data/prometheus.tar").read() == PART  # type: ignore[union-attr]
    assert names == [
        "manifest.json",
        "release/docker-compose.yml",
        "release/prometheus/prometheus.yml",
        "data/prometheus.tar",
    ]
    assert verify_archive(path) == manifest
    assert manifest.parts[0].digest == digest_of(PART)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob("*.partial"))


def test_streamed_parts_go_to_disk_not_into_memory(tmp_path: Path) -> None:
    """Each chunk is in the file before the next one is asked for."""
    path = tmp_path / "backup.tar"
    partial = path.with_name("backup.tar.partial")
    sizes: list[int] = []

    def chunks() -> object:
        for i in range(5):
            if i:
                sizes.append(partial.stat().st_size)
            yield bytes(100_000)

    with ArchiveWriter(path, SKELETON.room()) as archive:
        archive.add_stream("data/prometheus.tar", chunks())  # type: ignore[arg-type]
    assert sizes == sorted(sizes)
    assert sizes[-1] - sizes[0] >= 200_000


def test_a_backup_that_fails_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "backup.tar"

    def broken() -> object:
        yield b"x" * 1000
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"), ArchiveWriter(path, 4096) as archive:
        archive.add_stream("data/prometheus.tar", broken())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _offset_of(path: Path, name: str) -> int:
    with tarfile.open(path) as tar:
        return tar.getmember(name).offset_data


@pytest.mark.parametrize(
    "member",
    ["data/prometheus.tar", "release/docker-compose.yml", "release/prometheus/prometheus.yml"],
)
def test_one_flipped_byte_in_any_member_is_refused_naming_it(tmp_path: Path, member: str) -> None:
    path = tmp_path / "backup.tar"
    write(path)
    _flip(path, _offset_of(path, member) + 5)
    with pytest.raises(ArchiveError, match="damaged") as caught:
        verify_archive(path)
    assert member in caught.value.message
    assert caught.value.hint == "nothing was restored; use another copy of the backup"


def test_a_flipped_byte_in_the_manifest_or_a_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "backup.tar"
    write(path)
    for offset in (600, _offset_of(path, "data/prometheus.tar") - 400):
        copy = tmp_path / f"at-{offset}.tar"
        copy.write_bytes(path.read_bytes())
        _flip(copy, offset)
        with pytest.raises(ArchiveError):
            verify_archive(copy)


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "backup.tar"
    write(path)
    data = path.read_bytes()
    path.write_bytes(data[: _offset_of(path, "data/prometheus.tar") - 512])
    with pytest.raises(ArchiveError, match=r"members missing: data/prometheus\.tar"):
        verify_archive(path)


def test_a_member_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "backup.tar"
    write(path)
    data = path.read_bytes()[:-1024]  # without the end of the tar: append one member
    extra = io.BytesIO()
    with tarfile.open(fileobj=extra, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("release/.env")
        info.size = 20
        tar.addfile(info, io.BytesIO(b"GRAFANA_PASSWORD=xyz"))
    path.write_bytes(data + extra.getvalue())
    with pytest.raises(ArchiveError, match=r"release/\.env: a member its manifest does not list"):
        verify_archive(path)


@pytest.mark.parametrize("content", [b"", b"not a tar at all" * 100])
def test_a_file_that_is_no_tar_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "backup.tar"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match="damaged or not a tar"):
        verify_archive(path)


def test_a_tar_without_the_manifest_first_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("README")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ArchiveError, match=r"its first member is not manifest\.json"):
        verify_archive(path)


def test_members_are_read_back_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "backup.tar"
    write(path)
    with members(path) as chunks:
        assert b"".join(chunks("data/prometheus.tar")) == PART
        with pytest.raises(ArchiveError, match=r"no member data/grafana\.tar"):
            chunks("data/grafana.tar")
