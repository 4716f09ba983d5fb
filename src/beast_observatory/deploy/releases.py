"""Releases on a host: staged, validated, then switched in as a whole.

Layout in the deploy directory:

    docker-compose.yml, prometheus/, grafana/, ...   the live files (mounted by compose)
    manifest.json                                    what the live files are (written last)
    state.json                                       written when an up or apply verified
    releases/<NNNN>-<sha12>/                         complete copies of the last releases,
        manifest.json, files.list                    each with its manifest and file list

A release is staged in ``releases/.staging-*`` by deploy/scripts/stage.sh, which gets the files
that differ from the live ones in a tar on stdin (only they cross the network) and copies the
rest on the host, then renames it into place: a killed connection leaves at most a staging
directory behind, removed by the next apply. The switch into the live files
(deploy/scripts/switch.sh) runs on the host detached from the SSH session (nohup): once started
it completes even if the connection dies, so the live files are the old release or the new
one, never a mix.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from beast_observatory.bundle.bundle import MANIFEST, Bundle, sha256
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.shell import deploy_script
from beast_observatory.host.transport.base import Command, CommandResult, Transport

RELEASES = "releases"
FILES_LIST = "files.list"
KEEP = 5
STAGE = deploy_script("stage.sh")
SWITCH = deploy_script("switch.sh")
SWITCH_DETACHED = deploy_script("switch-detached.sh")
PRUNE = deploy_script("prune.sh")
SWITCH_LOG = ".observatory-switch.log"


@dataclass(frozen=True)
class Release:
    name: str
    path: str


class SwitchFailedError(ObservatoryError):
    """The switch script stopped midway (a full disk, say): live files may be mixed."""


NOTHING_SWITCHED = "nothing was switched; the host still runs the previous release"


def release_path(directory: str, name: str) -> str:
    return posixpath.join(directory, RELEASES, name)


def files_list(paths: Iterable[str]) -> bytes:
    """files.list: one relative path a line, what switch.sh installs."""
    return "".join(f"{_checked(p)}\n" for p in sorted(paths)).encode()


def _checked(rel: str) -> str:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\n" in rel or ".." in parts or "" in parts:
        raise ObservatoryError(f"{rel!r} cannot be a file of a release (a relative path)")
    return rel


def release_tar(bundle: Bundle, live_hashes: Mapping[str, str]) -> bytes:
    """What stage.sh gets: the files that differ from the live ones, the manifest, files.list."""
    members = {
        rel: (data, 0o600 if rel in bundle.secret_files else 0o644)
        for rel, data in sorted(bundle.files.items())
        if live_hashes.get(rel) != sha256(data)
    }
    members[MANIFEST] = (bundle.with_manifest()[MANIFEST], 0o644)
    members[FILES_LIST] = (files_list(bundle.files), 0o644)
    out = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel, (data, mode) in members.items():
            info = tarfile.TarInfo(_checked(rel))
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def stage_command(directory: str, bundle: Bundle, live_hashes: Mapping[str, str]) -> Command:
    staging = f".staging-{uuid.uuid4().hex[:8]}"
    tar = release_tar(bundle, live_hashes)
    return STAGE.command(directory, staging, bundle.spec_sha256[:12], stdin=tar)


def staged(result: CommandResult | None, where: str, directory: str) -> Release:
    """The release stage_command made (or the error saying why there is none)."""
    lines = result.text.split() if result is not None and result.ok else []
    if result is None or not lines:
        said = "" if result is None else _said(result)
        raise ObservatoryError(
            f"staging the release failed on {where}: {said}", hint=NOTHING_SWITCHED
        )
    name = lines[-1]
    return Release(name, release_path(directory, name))


def stage_release(
    transport: Transport, directory: str, bundle: Bundle, live_hashes: Mapping[str, str]
) -> Release:
    """Put a complete copy of bundle under releases/ (sending only what the host lacks)."""
    command = stage_command(directory, bundle, live_hashes)
    return staged(transport.run_batch([command])[0], transport.description, directory)


def discard_command(release: Release) -> Command:
    """A release that must never be live (rejected by the host's validators)."""
    return Command(("rm", "-rf", "--", release.path), stops=False)


def switch_command(directory: str, release: Release, remove: Iterable[str] = ()) -> Command:
    """Make the live files those of release, removing ``remove`` (files deployed before that
    the release lacks); it completes on the host even if we disconnect."""
    log = posixpath.join(directory, SWITCH_LOG)
    gone = [_checked(rel) for rel in sorted(set(remove))]
    return SWITCH_DETACHED.command(SWITCH.text, log, directory, release.path, *gone)


def switched(result: CommandResult | None, release: Release, where: str) -> None:
    """Raise SwitchFailedError unless the switch to release completed."""
    if result is None:
        raise SwitchFailedError(f"the switch to release {release.name} did not run")
    if not result.ok:
        raise SwitchFailedError(f"switching the live files failed on {where}: {_said(result)}")
    if "switched" not in result.text:
        raise SwitchFailedError(
            f"switching to release {release.name} did not complete: {result.text[-300:]}"
        )


def switch_to(
    transport: Transport, directory: str, release: Release, remove: Iterable[str] = ()
) -> None:
    result = transport.run_batch([switch_command(directory, release, remove)])[0]
    switched(result, release, transport.description)


def prune_command(directory: str, keep: int = KEEP) -> Command:
    return PRUNE.command(posixpath.join(directory, RELEASES), str(keep), stops=False)


def _said(result: CommandResult) -> str:
    return (result.stderr or result.stdout).decode("utf-8", "replace").strip()[-400:]
