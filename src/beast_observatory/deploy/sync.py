"""Upload a bundle to a host's deploy directory, sending only what changed (``up``).

Every file is written to a temporary name in its own directory and renamed over the old one
(never truncated in place), inside the directories the compose file mounts; secret files get
mode 0600; the manifest is written last, so an interrupted upload is retried in full by the
next run and a reader sees each file either old or new. A write whose data stops short (the
connection went away) removes its temporary file on the host; temporary files that something
harder (a killed host process) left behind are swept first, under the host lock, so no writer
can still own them.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

from beast_observatory.bundle.bundle import MANIFEST, Bundle, sha256
from beast_observatory.host.files import check_done, mkdir_command, remove_command, write_command
from beast_observatory.host.shell import deploy_script
from beast_observatory.host.transport.base import Command, CommandResult, Transport

SWEEP = deploy_script("sweep.sh")


@dataclass(frozen=True)
class SyncResult:
    uploaded: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    swept: tuple[str, ...] = ()  # leftover temporary files of an interrupted upload
    wrote_manifest: bool = False  # the live files are no longer those of a release


def parse_manifest(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def plan_sync(bundle: Bundle, host_files: dict[str, str]) -> tuple[list[str], list[str]]:
    """(paths to upload, paths to remove) given the host manifest's path -> sha256 (pure)."""
    upload = [p for p, data in sorted(bundle.files.items()) if host_files.get(p) != sha256(data)]
    remove = sorted(set(host_files) - set(bundle.files))
    return upload, remove


def sweep_command(bundle: Bundle, directory: str) -> Command:
    """Remove the temporary files an interrupted upload left in the directories a bundle
    writes to. Run it holding the host lock: the writer that made them held the lock too."""
    parents = {posixpath.dirname(rel) for rel in bundle.files}
    dirs = sorted(posixpath.join(directory, parent) for parent in parents | {""})
    return SWEEP.command(*dirs, stops=False)


def swept(result: CommandResult | None) -> tuple[str, ...]:
    return tuple(line for line in (result.text if result else "").splitlines() if line)


def sync_bundle(
    transport: Transport,
    bundle: Bundle,
    directory: str,
    *,
    old_manifest: bytes | None,
    leftovers: tuple[str, ...] = (),
) -> SyncResult:
    """Make the live files those of bundle, given the host's manifest.json as it is now."""
    manifest = parse_manifest(old_manifest) or {}
    host_files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    upload, remove = plan_sync(bundle, dict(host_files or {}))
    made: set[str] = set()
    for rel in upload:
        path = posixpath.join(directory, rel)
        parent = posixpath.dirname(path)
        commands = [] if parent in made else [mkdir_command(parent)]
        made.add(parent)
        mode = 0o600 if rel in bundle.secret_files or rel.endswith(".env") else 0o644
        commands.append(write_command(path, bundle.files[rel], mode))
        _done(transport, commands, path)
    new_manifest = bundle.with_manifest()[MANIFEST]
    wrote = bool(upload or remove or old_manifest != new_manifest)  # else: write nothing
    if wrote:
        path = posixpath.join(directory, MANIFEST)
        commands = [remove_command(posixpath.join(directory, rel)) for rel in remove]
        commands += [mkdir_command(directory), write_command(path, new_manifest, 0o644)]
        _done(transport, commands, path)
    unchanged = len(bundle.files) - len(upload)
    return SyncResult(tuple(upload), tuple(remove), unchanged, leftovers, wrote)


def _done(transport: Transport, commands: list[Command], path: str) -> None:
    for result in transport.run_batch(commands):
        check_done(result, transport, "write", path)
