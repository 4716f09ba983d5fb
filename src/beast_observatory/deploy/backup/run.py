"""``observatory backup`` and ``observatory restore`` on a host (IO through a Transport).

Both hold the host lock from start to end, so neither races an apply, an up or each other.
A backup reads what is deployed (the live docker-compose.yml says where the data is), what
each place holds and the release's files in two batches of the lock's session, then copies
each part in a session of its own (copy.py), streaming into the archive (archive.py). A
restore checks the whole archive before it connects to anything, maps its parts onto the
target environment's places (data.py: by kind, or by volume key), refuses places that hold
data unless told to replace them, and streams each part back.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import time
from dataclasses import dataclass, replace
from pathlib import Path

from beast_observatory import __version__
from beast_observatory.bundle.bundle import Bundle
from beast_observatory.deploy.backup.archive import (
    ArchiveWriter,
    Progress,
    members,
    verify_archive,
)
from beast_observatory.deploy.backup.copy import (
    Copier,
    Echo,
    check_command,
    parse_states,
    said,
    volume_command,
)
from beast_observatory.deploy.backup.data import (
    DataPart,
    Placed,
    StackData,
    kind_data_dirs,
    place,
    stack_data,
)
from beast_observatory.deploy.backup.manifest import (
    BackupManifest,
    PartRecord,
    digest_of,
    release_paths,
)
from beast_observatory.deploy.state import DeployState
from beast_observatory.deploy.sync import parse_manifest
from beast_observatory.deploy.target import Placement
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.files import read_answer, read_command
from beast_observatory.host.lock import HostLock
from beast_observatory.host.transport.base import CommandResult, Transport
from beast_observatory.names import COMPOSE_FILE, MANIFEST, STATE_FILE
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import load_yaml


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: BackupManifest
    size: int  # bytes of the archive
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    manifest: BackupManifest
    restored: tuple[Placed, ...]
    notes: tuple[str, ...]
    seconds: float


def _helper(data: StackData, where: str) -> str:
    if data.helper_image is None:
        raise ObservatoryError(
            f"the stack on {where} runs no image that can copy its data",
            hint="the copy runs in the image of Prometheus (or of the Pushgateway, Alertmanager, "
            "node-exporter, Grafana), which has sh and tar as the upstream images do",
        )
    return data.helper_image


@dataclass(frozen=True)
class _Deployed:
    project: str
    data: StackData
    live_manifest: dict[str, object]


def _deployed(host: Transport, placement: Placement, bundle: Bundle, stack: Stack) -> _Deployed:
    directory = placement.directory
    compose_path = posixpath.join(directory, COMPOSE_FILE)
    found = host.run_batch(
        [read_command(compose_path), read_command(posixpath.join(directory, MANIFEST))]
    )
    compose = read_answer(found[0], host.description, compose_path)
    if compose is None:
        raise ObservatoryError(
            f"nothing is deployed in {directory} on {placement.where}: no backup to make",
            hint="check --environment/--host, or the deploy_dir of the environment",
        )
    live = parse_manifest(read_answer(found[1], host.description, MANIFEST)) or {}
    project = str(live.get("project") or bundle.project)
    data = stack_data(load_yaml(compose, compose_path), project, kind_data_dirs(stack))
    return _Deployed(project, data, live)


def _release_files(
    where: str, directory: str, paths: list[str], answers: list[CommandResult | None]
) -> dict[str, bytes]:
    files = {}
    for rel, answer in zip(paths, answers, strict=True):
        content = read_answer(answer, where, posixpath.join(directory, rel))
        if content is not None:
            files[rel] = content
    return files


@dataclass(frozen=True)
class _Survey:
    present: tuple[DataPart, ...]  # the parts there are on the host
    notes: tuple[str, ...]
    files: dict[str, bytes]  # the release's files


def _survey(host: Transport, placement: Placement, deployed: _Deployed, image: str) -> _Survey:
    """One batch: what each place holds, and the release's files."""
    data = deployed.data
    paths = release_paths(deployed.live_manifest)
    checks = [check_command(image, data.parts)] if data.parts else []
    reads = [read_command(posixpath.join(placement.directory, rel)) for rel in paths]
    answers = host.run_batch([*checks, *reads])
    states = parse_states(answers[0], data.parts, host.description) if checks else {}
    files = _release_files(host.description, placement.directory, paths, answers[len(checks) :])
    missing = [p for p in data.parts if states[p.source] == "missing"]
    notes = data.notes + tuple(
        f"{p.describe()}: not on the host (the service never ran?): not backed up" for p in missing
    )
    return _Survey(tuple(p for p in data.parts if p not in missing), notes, files)


def backup(
    transport: Transport,
    placement: Placement,
    bundle: Bundle,
    stack: Stack,
    output: Path,
    *,
    echo: Echo,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy every data part of the deployed stack, and its release's files, into output."""
    started = time.monotonic()
    with HostLock(transport, placement.lock_path) as host:
        deployed = _deployed(host, placement, bundle, stack)
        image = _helper(deployed.data, placement.where) if deployed.data.parts else ""
        survey = _survey(host, placement, deployed, image)
        for note in survey.notes:
            echo(f"note: {note}")
        manifest = _manifest(deployed, bundle, placement, survey)
        copier = Copier(host, deployed.project, image, echo, progress)
        with ArchiveWriter(output, manifest.room()) as archive:
            for rel, content in survey.files.items():
                archive.add(f"release/{rel}", content)
            parts = tuple(
                replace(record, digest=copier.out(part, archive))
                for record, part in zip(manifest.parts, survey.present, strict=True)
            )
            manifest = replace(manifest, parts=parts)
            size = archive.finish(manifest)
    return BackupResult(output, manifest, size, time.monotonic() - started)


def _manifest(
    deployed: _Deployed, bundle: Bundle, placement: Placement, survey: _Survey
) -> BackupManifest:
    """The manifest before anything is copied (the digests to come)."""
    state = DeployState.parse(survey.files.get(STATE_FILE))
    live = deployed.live_manifest
    spec_sha256 = state.spec_sha256 if state else live.get("spec_sha256")
    return BackupManifest(
        project=deployed.project,
        environment=str(live.get("environment") or bundle.environment),
        host=placement.where,
        directory=placement.directory,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        tool_version=__version__,
        release_name=state.release if state else None,
        spec_sha256=spec_sha256 if isinstance(spec_sha256, str) else None,
        parts=tuple(
            PartRecord(p.id, p.type, p.source, p.services, p.kind, p.volume) for p in survey.present
        ),
        files={rel: digest_of(content) for rel, content in survey.files.items()},
        notes=survey.notes,
    )


def restore(
    transport: Transport,
    placement: Placement,
    bundle: Bundle,
    stack: Stack,
    archive: Path,
    *,
    replace_data: bool,
    echo: Echo,
    progress: Progress | None = None,
) -> RestoreResult:
    """Put the archive's data into the environment's places. Every member is checked first;
    nothing is written when one is damaged, or when a place holds data and replace_data is
    not set. The target is the environment as the spec renders it (what `up` will run)."""
    started = time.monotonic()
    manifest = verify_archive(archive)
    compose = load_yaml(bundle.files[COMPOSE_FILE], COMPOSE_FILE)
    data = stack_data(compose, bundle.project, kind_data_dirs(stack))
    placed, notes = place([p.id for p in manifest.parts], data)
    if not placed:
        raise ObservatoryError(
            f"{archive}: nothing in it has a place in environment {bundle.environment}",
            hint=f"it holds: {', '.join(p.id for p in manifest.parts) or 'no data'}",
        )
    image = _helper(data, placement.where)
    targets = tuple(p.target for p in placed)
    with HostLock(transport, placement.lock_path) as host:
        answer = host.run_batch([check_command(image, targets)])[0]
        states = parse_states(answer, targets, host.description)
        occupied = [t.describe() for t in targets if states[t.source] == "data"]
        if occupied and not replace_data:
            raise ObservatoryError(
                f"environment {bundle.environment} on {placement.where} already holds data in "
                f"{', '.join(occupied)}: nothing was restored",
                hint="pass --replace to replace it (what is there now is lost), or restore onto "
                "an environment without data (observatory down --volumes first)",
            )
        for note in notes:
            echo(f"note: {note}")
        _create_volumes(host, data.project, [t for t in targets if states[t.source] == "missing"])
        copier = Copier(host, data.project, image, echo, progress)
        records = {p.id: p for p in manifest.parts}
        with members(archive) as chunks:
            for item in placed:
                member = records[item.archived].member
                copier.into(item.target, chunks(member), member, replace=replace_data)
    return RestoreResult(manifest, tuple(placed), tuple(notes), time.monotonic() - started)


def _create_volumes(host: Transport, project: str, missing: list[DataPart]) -> None:
    commands = [volume_command(t, project) for t in missing if t.type == "volume"]
    for command, result in zip(commands, host.run_batch(commands), strict=True):
        if result is None or not result.ok:
            raise ObservatoryError(
                f"cannot create volume {command.argv[-1]} on {host.description}: {said(result)}"
            )
