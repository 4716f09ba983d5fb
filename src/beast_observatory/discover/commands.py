"""What `observatory discover`, `export` and `import` do, for the thin CLI in cli/ (IO here)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beast_observatory.deploy.target import ConnectOptions
from beast_observatory.discover.export import ExportResult, export_spec
from beast_observatory.discover.report import (
    default_out,
    load_inventory,
    looks_like_inventory,
    write_report,
)
from beast_observatory.errors import ObservatoryError, SpecError
from beast_observatory.host.probe.inventory import Inventory
from beast_observatory.host.probe.run import ProbeRun, run_probe
from beast_observatory.host.transport.base import HostTarget

Echo = Callable[[str], object]
SPEC_NAME = "observatory.yaml"
STACKS = Path("stacks")


def discover_target(
    spec: Path | None, environment: str | None, options: ConnectOptions
) -> HostTarget:
    """--host wins; else the environment's ssh settings when a spec is at hand; else this
    machine."""
    from beast_observatory.deploy.target import placement  # noqa: PLC0415
    from beast_observatory.spec.load import find_spec, load_project  # noqa: PLC0415

    if options.host is None and environment is not None:
        try:
            path = find_spec(spec)
        except SpecError:
            if spec is not None:
                raise
            path = None
        if path is not None:
            stack = load_project(path).stack(environment)
            return placement(stack, options).target
    env_path = os.environ.get
    return HostTarget(
        host=options.host,
        identity_file=options.identity_file,
        ssh_config_path=options.ssh_config
        or (Path(p) if (p := env_path("OBSERVATORY_SSH_CONFIG")) else None),
        known_hosts_path=options.known_hosts
        or (Path(p) if (p := env_path("OBSERVATORY_KNOWN_HOSTS")) else None),
        accept_new_host_key=options.accept_new_host_key,
    )


def probe_target(target: HostTarget, dirs: Sequence[str] = ()) -> ProbeRun:
    """One connection, one command."""
    from beast_observatory.host.transport import open_transport  # noqa: PLC0415

    with contextlib.closing(open_transport(target)) as transport:
        return run_probe(transport, dirs)


def discover_command(target: HostTarget, out: Path | None, dirs: Sequence[str], echo: Echo) -> Path:
    run = probe_target(target, dirs)
    directory = out or default_out(target.host)
    write_report(run.inventory, directory)
    inv = run.inventory
    files = sum(len(f) for f in inv.config_files.values())
    echo(
        f"{target.host or 'this machine'}: {len(inv.containers)} containers, "
        f"{len(inv.compose_projects)} compose projects, {files} config files; "
        f"{run.round_trips} round trip(s), {run.bytes_sent + run.bytes_received} bytes, "
        f"{run.seconds:.1f}s"
    )
    for problem in inv.problems:
        echo(f"  could not read: {problem}")
    echo(f"wrote {directory / 'inventory.json'} and {directory / 'DISCOVERY.md'}")
    return directory


def write_beside(spec_path: Path, text: str, files: Mapping[str, bytes]) -> list[Path]:
    """The spec and its side files (relative to the spec's folder)."""
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, data in sorted(files.items()):
        target = spec_path.parent / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    spec_path.write_text(text, encoding="utf-8")
    return [spec_path, *written]


def export_command(
    inventory: Inventory,
    *,
    project: str | None,
    environment: str,
    ssh_host: str | None,
    output: Path | None,
    echo: Echo,
    echo_err: Echo,
) -> ExportResult:
    result = export_spec(inventory, project=project, environment=environment, ssh_host=ssh_host)
    for note in result.notes:
        echo_err(f"note: {note}")
    if output is None:
        echo(result.spec_text)
        if result.files:
            echo_err(
                f"note: {len(result.files)} side file(s) (rules, dashboards) "
                "need -o FILE to be written"
            )
        return result
    for path in write_beside(output, result.spec_text, result.files):
        echo_err(f"wrote {path}")
    return result


def discovered(
    source: Path | None, spec: Path | None, environment: str | None, options: ConnectOptions
) -> tuple[Inventory, str | None]:
    """(inventory, ssh host of the spec's environment): a saved one (--from), else a fresh probe."""
    if source is not None:
        return load_inventory(source), options.host
    target = discover_target(spec, environment, options)
    return probe_target(target).inventory, target.host


@dataclass(frozen=True)
class Imported:
    spec: Path
    files: list[Path]
    notes: list[str]


def _read_source(source: Path) -> tuple[str, dict[str, bytes], str | None, str, list[str]]:
    """(spec text, side files, text to keep comments from, default name, notes)."""
    import json  # noqa: PLC0415

    from beast_observatory.bundle.compile import validate_project  # noqa: PLC0415
    from beast_observatory.spec.load import load_project  # noqa: PLC0415
    from beast_observatory.yamlio import dump_yaml  # noqa: PLC0415

    if not source.is_file():
        raise ObservatoryError(
            f"{source}: no such file", hint="give a spec (observatory.yaml) or an inventory.json"
        )
    raw = source.read_bytes()
    if source.suffix == ".json":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ObservatoryError(f"{source}: not JSON: {exc}") from None
        if looks_like_inventory(data):
            try:
                inventory = Inventory.from_json(data)
            except ValueError as exc:
                message = f"{source}: not an inventory of this version: {exc}"
                raise ObservatoryError(message) from None
            result = export_spec(inventory)
            return result.spec_text, result.files, None, result.project, result.notes
    project = load_project(source)
    validate_project(project)
    normal = dump_yaml(project.spec.model_dump(mode="json", by_alias=True, exclude_unset=True))
    return normal, dict(project.assets), project.text, project.spec.project, []


def keep_comments(base: str, new_text: str) -> str:
    """new_text's values on base's layout: comments of unchanged keys survive (ruamel)."""
    from beast_observatory.yamlio import RoundTrip, load_yaml  # noqa: PLC0415

    doc = RoundTrip(base)
    new = load_yaml(new_text)
    if not isinstance(doc.data, dict) or not isinstance(new, dict):
        return new_text
    _merge(doc.data, new)
    return doc.dumps()


def _merge(node: Any, new: Mapping[str, Any]) -> None:
    for key in [k for k in node if k not in new]:
        del node[key]
    for key, value in new.items():
        old = node.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value)
        elif isinstance(old, list) and isinstance(value, list) and len(old) == len(value):
            for i, item in enumerate(value):
                if isinstance(old[i], dict) and isinstance(item, dict):
                    _merge(old[i], item)
                elif old[i] != item:
                    old[i] = item
        elif key not in node or old != value:
            node[key] = value


def import_command(source: Path, *, name: str | None, force: bool, root: Path = STACKS) -> Imported:
    """Validate and normalise a spec or an inventory, then write root/<name>/observatory.yaml."""
    from beast_observatory.bundle.compile import validate_project  # noqa: PLC0415
    from beast_observatory.spec.load import load_project  # noqa: PLC0415

    text, files, base, default_name, notes = _read_source(source)
    name = name or default_name
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}", name):
        raise ObservatoryError(
            f"{name!r} is not a stack name", hint="use letters, digits, '-', '_' and '.'"
        )
    target = root / name / SPEC_NAME
    if target.exists():
        if not force:
            raise ObservatoryError(
                f"{target} exists",
                hint="pass --force to replace it (its comments are kept where they can be)",
            )
        base = target.read_text(encoding="utf-8")
    if base is not None:
        text = keep_comments(base, text)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=root) as tmp:
        staged = Path(tmp) / SPEC_NAME
        write_beside(staged, text, files)
        try:
            validate_project(load_project(staged))
        except SpecError as exc:
            problems = [p.replace(str(staged), str(target)) for p in exc.problems]
            raise SpecError(problems, hint=f"nothing was written to {target.parent}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        written = []
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                final = target.parent / path.relative_to(tmp)
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), final)
                written.append(final)
    return Imported(target, [p for p in written if p != target], notes)
