"""Upload a bundle to a host's deploy directory, sending only what changed.

Every file is written to a temporary name in its own directory and renamed over the old one
(never truncated in place), inside the directories the compose file mounts; secret files get
mode 0600; the manifest is written last, so an interrupted upload is retried in full by the
next run and a reader sees each file either old or new. Temporary files that an interrupted
upload left behind are swept first, under the host lock, so no writer can still own them.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

from beast_observatory.bundle.bundle import MANIFEST, Bundle, sha256
from beast_observatory.host.transport.base import Transport


@dataclass(frozen=True)
class SyncResult:
    uploaded: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    swept: tuple[str, ...] = ()  # leftover temporary files of an interrupted upload


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


# The temporary names of Transport.write_file_atomic: ".<name>.tmp-<random>".
_SWEEP_SCRIPT = r"""
for d do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f -name '.*.tmp-*' -print -exec rm -f -- {} +
done
exit 0
"""


def sweep_leftovers(transport: Transport, bundle: Bundle, directory: str) -> tuple[str, ...]:
    """Remove the temporary files an interrupted upload left in the directories a bundle
    writes to (one round trip). Call it holding the host lock: the writer that made them
    held the lock over the same connection, so it is gone now."""
    parents = {posixpath.dirname(rel) for rel in bundle.files}
    dirs = sorted(posixpath.join(directory, parent) for parent in parents | {""})
    result = transport.run(["sh", "-c", _SWEEP_SCRIPT, "observatory-sweep", *dirs])
    return tuple(line for line in result.text.splitlines() if line)


def sync_bundle(transport: Transport, bundle: Bundle, directory: str) -> SyncResult:
    swept = sweep_leftovers(transport, bundle, directory)
    old_manifest = transport.read_file(posixpath.join(directory, MANIFEST))
    manifest = parse_manifest(old_manifest) or {}
    host_files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    upload, remove = plan_sync(bundle, dict(host_files or {}))
    made: set[str] = set()
    for rel in upload:
        parent = posixpath.dirname(posixpath.join(directory, rel))
        if parent not in made:
            transport.makedirs(parent)
            made.add(parent)
        mode = 0o600 if rel in bundle.secret_files or rel.endswith(".env") else 0o644
        transport.write_file_atomic(posixpath.join(directory, rel), bundle.files[rel], mode=mode)
    for rel in remove:
        transport.remove(posixpath.join(directory, rel))
    new_manifest = bundle.with_manifest()[MANIFEST]
    if upload or remove or old_manifest != new_manifest:  # nothing changed: write nothing
        transport.makedirs(directory)
        transport.write_file_atomic(posixpath.join(directory, MANIFEST), new_manifest, mode=0o644)
    return SyncResult(tuple(upload), tuple(remove), len(bundle.files) - len(upload), swept)
