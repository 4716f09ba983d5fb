"""Plans of a host that beast-observatory does not manage yet: a stack made by hand (pure).

Its files are wherever its author put them, so comparing paths says nothing. Instead the
host is read back as a spec (``export``, pure) and rendered by the same renderer as the
desired spec; the two trees are compared in the services' own terms (plan/semantic.py). No
difference: nothing to do, and apply touches nothing. Any difference: the first apply takes
the stack over, and the plan says what that changes besides the difference itself: every
container is recreated from the generated compose file (with the tool's labels), its
configuration is mounted from the deploy directory from now on, and where data would move
(or be lost with a container's own layer) apply refuses unless told it may.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.discover.export import export_spec
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.probe.inventory import Container, FileRecord, Inventory
from beast_observatory.kinds.versions import image_change
from beast_observatory.names import (
    COMPOSE_CONFIG_FILES,
    COMPOSE_ENV_FILE,
    COMPOSE_FILE,
    COMPOSE_WORKING_DIR,
    ENV_EXAMPLE,
    ENV_FILE,
    KIND_LABEL,
    LABEL,
    MANIFEST,
)
from beast_observatory.plan.files import missing_secrets, unified_diff
from beast_observatory.plan.model import FileChange, Plan, ServiceChange
from beast_observatory.plan.mounts import data_moves, planned_mounts
from beast_observatory.plan.semantic import bundle_changes
from beast_observatory.yamlio import load_yaml


def live_data_dir(kind: str | None, c: Container) -> str | None:
    """Where the running container keeps its data, as its kind's reader sees it."""
    from beast_observatory.kinds.alertmanager import read as alertmanager  # noqa: PLC0415
    from beast_observatory.kinds.prometheus import read as prometheus  # noqa: PLC0415
    from beast_observatory.kinds.pushgateway import read as pushgateway  # noqa: PLC0415

    if kind == "prometheus":
        return prometheus.facts(c).data_dir
    if kind == "alertmanager":
        return alertmanager.facts(c).data_dir
    if kind == "pushgateway":
        return pushgateway.facts(c).data_dir
    if kind == "grafana":
        return (c.env.get("GF_PATHS_DATA") or "/var/lib/grafana").rstrip("/")
    return None


def service_kinds(compose: Mapping[str, Any]) -> dict[str, str]:
    """compose service name -> its kind (from the tool's label), for the known kinds."""
    out = {}
    for name, svc in (compose.get("services") or {}).items():
        labels = svc.get("labels") or {}
        if isinstance(labels, dict) and labels.get(KIND_LABEL):
            out[str(name)] = str(labels[KIND_LABEL])
    return out


def is_unmanaged(inventory: Inventory, live_files: Mapping[str, FileRecord], project: str) -> bool:
    """The project runs on the host, but not from files this tool deployed."""
    if MANIFEST in live_files:
        return False
    ours = inventory.project(project)
    return bool(ours) and not any(f"{LABEL}.project" in c.labels for c in ours)


def unmanaged(
    inventory: Inventory, project: str, compose: Mapping[str, Any]
) -> dict[str, tuple[str, ...]]:
    """What else runs on the host: left alone, named so nobody wonders."""
    containers = sorted(
        {c.name for c in inventory.containers if c.project != project}
        | set(inventory.other_containers)
    )
    ours_vol = {
        (v.get("name") if isinstance(v, dict) and v.get("name") else f"{project}_{k}")
        for k, v in (compose.get("volumes") or {}).items()
    }
    ours_net = {
        (n.get("name") if isinstance(n, dict) and n.get("name") else f"{project}_{k}")
        for k, n in (compose.get("networks") or {}).items()
    } | {"bridge", "host", "none"}
    from beast_observatory.names import COMPOSE_PROJECT  # noqa: PLC0415

    volumes = sorted(
        v.name
        for v in inventory.volumes
        if v.name not in ours_vol and v.labels.get(COMPOSE_PROJECT) != project
    )
    networks = sorted(
        n.name
        for n in inventory.networks
        if n.name not in ours_net and n.labels.get(COMPOSE_PROJECT) != project
    )
    return {"containers": tuple(containers), "volumes": tuple(volumes), "networks": tuple(networks)}


def host_files(inventory: Inventory, project: str, env_name: str) -> dict[str, bytes]:
    """The host's stack rendered as the tool renders a spec: its export, built."""
    from beast_observatory.bundle.render import asset_refs, render_stack  # noqa: PLC0415
    from beast_observatory.spec.load import parse_spec  # noqa: PLC0415
    from beast_observatory.spec.resolve import resolve  # noqa: PLC0415

    exported = export_spec(inventory, project=project, environment=env_name)
    spec = parse_spec(exported.spec_text, "<exported from the host>")
    stack = resolve(spec, env_name)
    refs = asset_refs(stack)
    matches = {
        ref: tuple(
            sorted(
                p
                for p in exported.files
                if glob_regex(ref).fullmatch(p) or p == ref or p.startswith(ref.rstrip("/") + "/")
            )
        )
        for ref in refs
    }
    return dict(render_stack(stack, exported.files, matches).files)


_GLOB_CHARS = {"*": "[^/]*", "?": "[^/]"}


def glob_regex(pattern: str) -> re.Pattern[str]:
    """What glob.glob(pattern, recursive=True) matches, as spec/load.py reads the assets: `*`
    within one folder, `**/` any number of folders (none too)."""
    parts = pattern.split("/")
    regex = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
            continue
        regex += "".join(_GLOB_CHARS.get(c) or re.escape(c) for c in part)
        regex += "" if last else "/"
    return re.compile(regex)


def _config_moves(live: Container, planned: list[Any], directory: str) -> list[str]:
    """Configuration that is mounted from the release from now on: single files become a
    folder, files baked into the image or edited in the container become mounted files."""
    out = []
    for p in planned:
        if p.type != "bind" or not p.source.startswith(directory.rstrip("/") + "/"):
            continue
        before = [
            m
            for m in live.mounts
            if m.destination.rstrip("/") == p.destination
            or m.destination.startswith(p.destination.rstrip("/") + "/")
        ]
        if not before:
            out.append(
                f"{p.destination}: came from the container itself (its image, or edits made "
                f"in it): from now on mounted from {p.source}"
            )
        elif [m.source for m in before] != [p.source]:
            was = ", ".join(f"{m.source} at {m.destination}" for m in before)
            out.append(f"{p.destination}: mounted from {p.source} (was {was})")
    return out


def _takeover_reasons(
    name: str,
    desired: Mapping[str, Any],
    live: Container,
    *,
    project: str,
    directory: str,
    declared: Mapping[str, Any],
    kind: str | None,
) -> tuple[list[str], list[str]]:
    """(what the takeover changes for the service, data moves that block apply)."""
    planned = planned_mounts(desired, project=project, directory=directory, declared=declared)
    reasons = [
        f"taken over: recreated from the generated compose file, with the tool's labels ({LABEL}.*)"
    ]
    wd = live.labels.get(COMPOSE_WORKING_DIR)
    if wd and posixpath.normpath(wd) != posixpath.normpath(directory):
        reasons.append(f"compose project folder {wd} -> {directory}")
    reasons += _config_moves(live, planned, directory)
    env = desired.get("environment") or {}
    prefix = "OBSERVATORY_SECRET_"
    written = sorted(k.removeprefix(prefix).lower() for k in env if str(k).startswith(prefix))
    if written:
        reasons.append(
            "secrets written into the container at start from the host's .env, where its "
            f"configuration reads them (/tmp/observatory-secrets/): {', '.join(written)}"
        )
    data_dir = live_data_dir(kind, live)
    in_memory = kind == "pushgateway" and not any("--persistence.file" in str(a) for a in live.cmd)
    if in_memory:
        data_dir = None  # nothing on disk to lose: the in-memory metrics are said below
    blockers = data_moves(live, planned, directory=directory, data_dir=data_dir, recreated=True)
    if in_memory:
        blockers.append(
            "the Pushgateway keeps pushed metrics in memory only: recreating it drops them"
        )
    return reasons, [f"{name}: {b}" for b in blockers]


def restore_args(containers: list[Container], project: str) -> tuple[str, ...]:
    """compose's arguments to bring the hand-made project back from its own files."""
    for c in containers:
        wd = c.labels.get(COMPOSE_WORKING_DIR)
        files = [f for f in c.labels.get(COMPOSE_CONFIG_FILES, "").split(",") if f]
        if wd and files:
            args = ["-p", project, "--project-directory", wd]
            for f in files:
                args += ["-f", f if f.startswith("/") else posixpath.join(wd, f)]
            if env_file := c.labels.get(COMPOSE_ENV_FILE):
                args += ["--env-file", env_file]
            return tuple(args)
    return ()


def adoption_plan(bundle: Bundle, inventory: Inventory, *, deploy_dir: str, host: str) -> Plan:
    """A hand-made stack of the same compose project runs on the host."""
    compose: dict[str, Any] = load_yaml(bundle.files[COMPOSE_FILE], COMPOSE_FILE)
    note = (
        f"the host runs compose project {bundle.project} made without beast-observatory "
        f"(no manifest in {deploy_dir}): it was read back and compared service by service"
    )
    try:
        live = host_files(inventory, bundle.project, bundle.environment)
    except ObservatoryError as exc:
        raise ObservatoryError(
            f"the stack on {host} could not be read back as a spec: {exc.message}",
            hint="`observatory export` shows the gap; please report it with the inventory.json",
        ) from None
    kinds = service_kinds(compose)
    said = bundle_changes(live, bundle.files, {k: n for n, k in kinds.items()})
    unmanaged_now = unmanaged(inventory, bundle.project, compose)
    containers = {c.service: c for c in inventory.project(bundle.project) if c.service}
    services = compose.get("services") or {}
    if not said:
        unchanged = tuple(ServiceChange(n, "unchanged") for n in sorted(services))
        more = (
            f"nothing differs: the first apply that changes something takes the stack over "
            f"(every container recreated from {deploy_dir}, with the tool's labels)"
        )
        return Plan(
            bundle.environment, host, deploy_dir, (), unchanged, unmanaged_now, (note, more)
        )
    changes, blockers = [], []
    for name in sorted(services):
        c = containers.get(name)
        if c is None:
            changes.append(ServiceChange(name, "create", ("no container",)))
            continue
        reasons, blocking = _takeover_reasons(
            name,
            services[name],
            c,
            project=bundle.project,
            directory=deploy_dir,
            declared=compose.get("volumes") or {},
            kind=kinds.get(name),
        )
        crossing = image_change(kinds.get(name), c.image, str(services[name].get("image", "")))
        changes.append(
            ServiceChange(name, "recreate", (*said.get(name, []), *crossing.reasons, *reasons))
        )
        blockers += [*blocking, *(f"{name}: {b}" for b in crossing.blockers)]
    for name in sorted(set(containers) - set(services)):
        changes.append(ServiceChange(name, "remove", ("not in the spec (needs --allow-remove)",)))
    files = tuple(
        FileChange(p, "add", unified_diff(p, None, d.decode("utf-8", "replace")))
        for p, d in sorted(bundle.files.items())
    )
    notes = (note, *(f"stack: {r}" for r in said.get("stack", [])))
    return Plan(
        bundle.environment,
        host,
        deploy_dir,
        files,
        tuple(changes),
        unmanaged_now,
        notes,
        blockers=tuple(blockers),
        takeover=True,
        restore=restore_args(inventory.project(bundle.project), bundle.project),
        missing_secrets=missing_secrets(
            bundle.files.get(ENV_EXAMPLE),
            (inventory.deploy_files(deploy_dir).get(ENV_FILE) or FileRecord()).content,
        ),
    )
