"""The backup manifest: its JSON both ways, what it refuses, the room it keeps (pure)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beast_observatory.deploy.backup.manifest import (
    ArchiveError,
    BackupManifest,
    Digest,
    PartRecord,
    checksum,
    digest_of,
    parse_manifest,
    release_paths,
)

MANIFEST = BackupManifest(
    project="beast-observatory",
    environment="remote",
    host="vonnegut",
    directory="/opt/observatory/beast-observatory",
    created="2026-12-01T11:15:00+00:00",
    tool_version="0.1.0",
    release_name="0007-3f9c2a1b4d5e",
    spec_sha256="a" * 64,
    files={"docker-compose.yml": digest_of(b"services: {}\n")},
    parts=(
        PartRecord(
            "prometheus",
            "volume",
            "beast-observatory_prometheus-data",
            ("prometheus",),
            "prometheus",
            "prometheus-data",
            Digest(1024, "b" * 64),
        ),
        PartRecord("volume/vm-data", "volume", "vm", ("victoria",), None, "vm-data"),
    ),
    notes=("grafana: its data is in the container's own layer",),
)


def test_the_manifest_reads_back_as_it_was_written() -> None:
    assert parse_manifest(MANIFEST.to_bytes(), "x.tar") == MANIFEST


def test_it_says_what_each_member_must_hold() -> None:
    assert MANIFEST.members() == {
        "release/docker-compose.yml": digest_of(b"services: {}\n"),
        "data/prometheus.tar": Digest(1024, "b" * 64),
        "data/volume/vm-data.tar": Digest(0, "0" * 64),
    }


def test_the_tool_version_the_release_and_the_source_are_recorded() -> None:
    doc = json.loads(MANIFEST.to_bytes())
    assert doc["format"] == "beast-observatory-backup"
    assert doc["tool_version"] == "0.1.0"
    assert doc["release"] == {"name": "0007-3f9c2a1b4d5e", "spec_sha256": "a" * 64}
    assert doc["source"]["host"] == "vonnegut"
    assert doc["parts"][0]["member"] == "data/prometheus.tar"


@given(sizes=st.lists(st.integers(0, 10**19 - 1), min_size=2, max_size=2))
def test_the_room_kept_at_the_start_fits_every_digest_to_come(sizes: list[int]) -> None:
    room = MANIFEST.room()
    done = replace(
        MANIFEST,
        parts=tuple(
            replace(p, digest=Digest(size, "c" * 64))
            for p, size in zip(MANIFEST.parts, sizes, strict=True)
        ),
    )
    padded = done.to_bytes(room)
    assert len(padded) == room
    assert parse_manifest(padded, "x.tar") == done  # white space after the JSON is allowed


def test_release_paths_never_include_env_whatever_the_manifest_lists() -> None:
    live = {
        "files": {
            "docker-compose.yml": "x",
            ".env": "x",
            "files/secrets/.env": "x",
            ".env.example": "x",
            "../outside": "x",
            "/etc/passwd": "x",
        }
    }
    assert release_paths(live) == [
        ".env.example",
        "docker-compose.yml",
        "manifest.json",
        "state.json",
    ]
    assert release_paths({}) == ["manifest.json", "state.json"]


def edited(**change: object) -> bytes:
    """The manifest changed, its checksum made to match (what a writer of ours never does)."""
    doc = json.loads(MANIFEST.to_bytes())
    doc.update(change)
    doc["checksum"] = checksum(doc)
    return json.dumps(doc).encode()


def test_a_manifest_changed_anywhere_does_not_match_its_checksum() -> None:
    data = MANIFEST.to_bytes().replace(b"2026-12-01", b"2026-12-02")
    with pytest.raises(ArchiveError, match="does not match its own checksum"):
        parse_manifest(data, "x.tar")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x00\x01 not json", "its manifest.json is not JSON"),
        (b'{"format": "something-else"}', "not a backup of beast-observatory"),
        (edited(format_version=2), "a backup of format 2"),
        (edited(files={".env": {"size": 1, "sha256": "0" * 64}}), "not one a backup writes"),
        (edited(files={"a": {"size": -1, "sha256": "0" * 64}}), "not one a backup writes"),
        (edited(parts=[{**json.loads(MANIFEST.to_bytes())["parts"][0], "id": "../x"}]), "part"),
        (edited(notes=[1]), "not one a backup writes"),
        (edited(source={}), "not one a backup writes"),
    ],
)
def test_what_is_not_a_manifest_of_ours_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(ArchiveError, match=r"x\.tar") as caught:
        parse_manifest(data, "x.tar")
    assert words in caught.value.message
