"""Releases on a host: staged, validated, then switched in as a whole.

Layout in the deploy directory:

    docker-compose.yml, prometheus/, grafana/, ...   the live files (mounted by compose)
    manifest.json                                    what the live files are (written last)
    state.json                                       written when an apply verified
    releases/<NNNN>-<sha12>/                         complete copies of the last releases

A release is uploaded to ``releases/.staging-*`` (only the files that differ from the live
ones cross the network; the rest are copied on the host) and renamed into place, so a killed
connection leaves at most a staging directory behind. The switch into the live files runs on
the host detached from the SSH session (nohup): once started it completes even if the
connection dies, so the live files are the old release or the new one, never a mix.
"""

from __future__ import annotations

import json
import posixpath
import shlex
import uuid
from dataclasses import dataclass
from importlib import resources

from beast_observatory.bundle.bundle import MANIFEST, Bundle, sha256
from beast_observatory.errors import ObservatoryError, TransportError
from beast_observatory.host.transport.base import Transport

RELEASES = "releases"
KEEP = 5


def _script(name: str) -> str:
    """A shell script shipped beside this module (run on the host with ``sh -c``)."""
    return (resources.files("beast_observatory.deploy") / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Release:
    name: str
    path: str


class SwitchFailedError(ObservatoryError):
    """The switch script stopped midway (a full disk, say): live files may be mixed."""


NOTHING_SWITCHED = "nothing was switched; the host still runs the previous release"


def _run(
    transport: Transport, script: str, *args: str, doing: str, hint: str = NOTHING_SWITCHED
) -> str:
    result = transport.run(["sh", "-c", script, "observatory", *args])
    if not result.ok:
        raise ObservatoryError(
            f"{doing} failed on {transport.description}: "
            + (result.stderr or result.stdout).decode("utf-8", "replace").strip()[-400:],
            hint=hint,
        )
    return result.text


def list_releases(transport: Transport, directory: str) -> list[str]:
    root = posixpath.join(directory, RELEASES)
    result = transport.run(
        ["sh", "-c", 'ls -1 "$1" 2>/dev/null | grep -v "^\\." || true', "ls", root]
    )
    return sorted(line for line in result.text.split() if line)


def stage_release(
    transport: Transport, directory: str, bundle: Bundle, live_hashes: dict[str, str], number: int
) -> Release:
    """Put a complete copy of bundle under releases/ (sending only what the host lacks)."""
    root = posixpath.join(directory, RELEASES)
    name = f"{number:04d}-{bundle.spec_sha256[:12]}"
    staging = posixpath.join(root, f".staging-{uuid.uuid4().hex[:8]}")
    same = [p for p, data in bundle.files.items() if live_hashes.get(p) == sha256(data)]
    transport.makedirs(root)
    _run(transport, _script("stage.sh"), directory, staging, *same, doing="copying unchanged files")
    made: set[str] = set()
    for rel, data in sorted(bundle.files.items()):
        if rel in same:
            continue
        parent = posixpath.dirname(posixpath.join(staging, rel))
        if parent not in made:
            transport.makedirs(parent)
            made.add(parent)
        mode = 0o600 if rel in bundle.secret_files else 0o644
        transport.write_file_atomic(posixpath.join(staging, rel), data, mode=mode)
    manifest = bundle.with_manifest()[MANIFEST]
    transport.write_file_atomic(posixpath.join(staging, MANIFEST), manifest)
    final = posixpath.join(root, name)
    _run(transport, 'rm -rf "$2" && mv "$1" "$2"', staging, final, doing="storing the release")
    return Release(name, final)


def switch_to(transport: Transport, directory: str, release: Release) -> None:
    """Make the live files those of release; completes on the host even if we disconnect."""
    log = posixpath.join(directory, ".observatory-switch.log")
    script = (
        f'nohup sh -c {shlex.quote(_script("switch.sh"))} switch "$1" "$2" '
        f">{shlex.quote(log)} 2>&1 </dev/null & "
        f"wait $!; rc=$?; cat {shlex.quote(log)}; exit $rc"
    )
    try:
        out = _run(transport, script, directory, release.path, doing="switching the live files")
    except TransportError:
        raise  # the connection went away: the switch completes on the host regardless
    except ObservatoryError as exc:
        raise SwitchFailedError(exc.message) from None
    if "switched" not in out:
        raise SwitchFailedError(
            f"switching to release {release.name} did not complete: {out[-300:]}"
        )


def sweep_staging(transport: Transport, directory: str) -> None:
    """Remove staging directories an interrupted apply left behind (under the host lock)."""
    root = posixpath.join(directory, RELEASES)
    transport.run(["sh", "-c", 'rm -rf "$1"/.staging-*', "sweep", root])


def prune_releases(transport: Transport, directory: str, keep: int = KEEP) -> None:
    names = list_releases(transport, directory)
    old = names[:-keep] if len(names) > keep else []
    if old:
        root = posixpath.join(directory, RELEASES)
        transport.run(["rm", "-rf", *(posixpath.join(root, n) for n in old)])


def write_state(transport: Transport, directory: str, bundle: Bundle, release: Release) -> None:
    state = {"release": release.name, "spec_sha256": bundle.spec_sha256}
    data = (json.dumps(state, indent=2) + "\n").encode()
    transport.write_file_atomic(posixpath.join(directory, "state.json"), data)
