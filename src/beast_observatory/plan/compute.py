"""Desired (a Bundle) against live (the Inventory of the probe) -> Plan (pure).

A host this tool deployed to keeps a manifest of its files: files are compared path by
path, services container by container, and every change is said in the services' own words
(plan/semantic.py). A host made by hand goes through plan/adopt.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle, sha256
from beast_observatory.host.probe.inventory import Container, FileRecord, Inventory
from beast_observatory.kinds.versions import image_change
from beast_observatory.names import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    ENV_FILE,
    KIND_LABEL,
    MANIFEST,
    RESTART_HASH_LABEL,
    STATE_FILE,
)
from beast_observatory.plan.adopt import adoption_plan, is_unmanaged, service_kinds, unmanaged
from beast_observatory.plan.files import HOST_ONLY, missing_secrets, same_content, unified_diff
from beast_observatory.plan.model import FileChange, Plan, ServiceChange
from beast_observatory.plan.mounts import data_moves, planned_mounts
from beast_observatory.plan.semantic import compose_changes, config_changes
from beast_observatory.yamlio import load_yaml

# Services whose configuration files are re-read on SIGHUP, and their bundle folders.
RELOADABLE = {"prometheus": "prometheus/", "alertmanager": "alertmanager/"}


def _flag_map(command: list[str]) -> dict[str, str]:
    out = {}
    for arg in command:
        name, _, value = arg.partition("=")
        out[name] = value
    return out


def _flag_reasons(live: list[str], desired: list[str]) -> list[str]:
    lf, df = _flag_map(live), _flag_map(desired)
    reasons = []
    for name in sorted(set(lf) | set(df)):
        if lf.get(name) != df.get(name):
            before, after = lf.get(name, "(unset)"), df.get(name, "(unset)")
            what = name.removeprefix("--")
            if "retention" in name:
                reasons.append(
                    f"{what.split('.')[-1]} retention {before} -> {after} (restart, data kept)"
                )
            else:
                reasons.append(f"flag {what}: {before} -> {after}")
    return reasons


def _same_command(desired: list[Any], live: list[str]) -> bool:
    """An argument with a variable (a secret from .env) matches whatever the container got:
    its value never leaves the host."""
    if len(desired) != len(live):
        return False
    for wanted, have in zip(desired, live, strict=True):
        want = str(wanted)
        if "$" in want.replace("$$", ""):
            head = want.split("$", 1)[0]
            if not have.startswith(head):
                return False
        elif want.replace("$$", "$") != have:  # `$$`: compose's escape of a dollar
            return False
    return True


def _live_ports(c: Container) -> set[str]:
    out = set()
    for cport, binds in c.ports.items():
        number = cport.split("/")[0]
        for b in binds:
            out.add(
                f"{b.host_ip}:{b.host_port}:{number}" if b.host_ip else f"{b.host_port}:{number}"
            )
    return out


def _desired_ports(service: Mapping[str, Any]) -> set[str]:
    return {str(p).removesuffix("/tcp") for p in service.get("ports") or [] if isinstance(p, str)}


def _kind(service: Mapping[str, Any]) -> str | None:
    labels = service.get("labels") or {}
    return str(labels[KIND_LABEL]) if isinstance(labels, dict) and KIND_LABEL in labels else None


def container_reasons(desired: Mapping[str, Any], live: Container) -> list[str]:
    """Why a running container no longer matches its compose service (empty: it matches)."""
    reasons = []
    if desired.get("image") != live.image:
        reasons.append(f"image {live.image} -> {desired.get('image')}")
        # Across a release with breaking changes: what its upgrade notes ask for.
        reasons += image_change(_kind(desired), live.image, str(desired.get("image"))).reasons
    if "command" in desired and not _same_command(list(desired["command"]), list(live.cmd)):
        reasons += _flag_reasons(list(live.cmd), list(desired["command"])) or ["command changed"]
    if (want := _desired_ports(desired)) and want != _live_ports(live):
        before = ", ".join(sorted(_live_ports(live))) or "none"
        reasons.append(f"ports {before} -> {', '.join(sorted(want)) or 'none'}")
    env = desired.get("environment") or {}
    for key, value in sorted(env.items() if isinstance(env, dict) else []):
        if "$" in str(value):
            continue  # a reference: its value never leaves the host
        if str(live.env.get(key)) != str(value):
            reasons.append(f"environment {key} changed")
    restart = str(desired.get("restart", "no"))
    live_restart = live.restart_policy or "no"
    if live_restart == "on-failure" and live.restart_max:
        live_restart = f"on-failure:{live.restart_max}"
    if live_restart != restart:
        reasons.append(f"restart policy {live_restart} -> {restart}")
    want_hash = (desired.get("labels") or {}).get(RESTART_HASH_LABEL)
    if live.labels.get(RESTART_HASH_LABEL, want_hash) != want_hash:
        reasons.append(
            "files it reads only at start changed (grafana.ini, provisioning, mounted files)"
        )
    return reasons


def deployed_files(live_files: Mapping[str, FileRecord]) -> set[str]:
    """Paths the host's manifest lists (what an earlier build deployed there)."""
    record = live_files.get(MANIFEST)
    try:
        files = json.loads((record.content if record else None) or "{}").get("files") or {}
    except (ValueError, AttributeError):
        return set()
    return {str(p) for p in files} if isinstance(files, dict) else set()


def file_changes(bundle: Bundle, live_files: Mapping[str, FileRecord]) -> list[FileChange]:
    changes: list[FileChange] = []
    for path, data in sorted(bundle.files.items()):
        desired = data.decode("utf-8", "replace")
        record = live_files.get(path)
        if record is None:
            changes.append(FileChange(path, "add", unified_diff(path, None, desired)))
        elif record.sha256 == sha256(data):
            continue  # same bytes; the only test for files too big for the probe to read
        elif record.content is None or not same_content(path, desired, record.content):
            changes.append(FileChange(path, "change", unified_diff(path, record.content, desired)))
    # Only files this tool put there (listed in the host's manifest) are ever removed; anything
    # else in the directory belongs to someone else and is left alone.
    for path in sorted(deployed_files(live_files) - set(bundle.files)):
        if path in live_files and not HOST_ONLY.match(path):
            changes.append(
                FileChange(path, "remove", unified_diff(path, live_files[path].content, None))
            )
    return changes


def live_contents(live_files: Mapping[str, FileRecord]) -> dict[str, bytes]:
    return {p: r.content.encode() for p, r in live_files.items() if r.content is not None}


def project_containers(inventory: Inventory, project: str) -> dict[str, Container]:
    out: dict[str, Container] = {}
    for c in inventory.project(project):
        if c.service:
            out.setdefault(c.service, c)
    return out


def _pending(live_files: Mapping[str, FileRecord], bundle: Bundle) -> bool:
    """True when files were switched to this spec but the apply that did it never finished."""
    state, manifest = live_files.get(STATE_FILE), live_files.get(MANIFEST)
    try:
        applied = json.loads(state.content or "")["spec_sha256"] if state else None
        deployed = json.loads(manifest.content or "")["spec_sha256"] if manifest else None
    except (ValueError, KeyError, TypeError):
        return True
    return deployed == bundle.spec_sha256 and applied != deployed


def _reloads(kind: str | None, files: list[FileChange]) -> list[str]:
    folder = RELOADABLE.get(kind or "")
    if folder is None:
        return []
    # web.yml is read on every request; the rule tests are promtool's, never Prometheus'.
    ignored = (f"{folder}web.yml", f"{folder}tests/")
    return [
        f"{f.path} {f.action}d"
        for f in files
        if f.path.startswith(folder) and not f.path.startswith(ignored)
    ]


def _missing(bundle: Bundle, live_files: Mapping[str, FileRecord]) -> tuple[str, ...]:
    env = live_files.get(ENV_FILE)
    return missing_secrets(bundle.files.get(ENV_EXAMPLE), env.content if env else None)


def make_plan(bundle: Bundle, inventory: Inventory, *, deploy_dir: str, host: str) -> Plan:
    compose: dict[str, Any] = load_yaml(bundle.files[COMPOSE_FILE], COMPOSE_FILE)
    live_files = inventory.deploy_files(deploy_dir)
    if is_unmanaged(inventory, live_files, bundle.project):
        return adoption_plan(bundle, inventory, deploy_dir=deploy_dir, host=host)
    files = file_changes(bundle, live_files)
    kinds = service_kinds(compose)
    before = live_contents(live_files)
    definitions = compose_changes(before, bundle.files)
    configs = config_changes(before, bundle.files, {k: n for n, k in kinds.items()})
    containers = project_containers(inventory, bundle.project)
    pending = _pending(live_files, bundle)
    declared = compose.get("volumes") or {}
    services, blockers = [], []
    for name, desired in sorted((compose.get("services") or {}).items()):
        live = containers.get(name)
        if live is None:
            services.append(ServiceChange(name, "create", ("no container",)))
            continue
        reasons = container_reasons(desired, live) or definitions.get(name, [])
        if not reasons and live.state.status != "running":
            reasons = [f"container is {live.state.status}"]
        reload = _reloads(kinds.get(name), files)
        if not reload and pending and kinds.get(name) in RELOADABLE:
            reload = ["the last apply did not finish"]
        if reasons:
            services.append(ServiceChange(name, "recreate", tuple(reasons + configs.get(name, []))))
            planned = planned_mounts(
                desired, project=bundle.project, directory=deploy_dir, declared=declared
            )
            blockers += [
                f"{name}: {m}"
                for m in data_moves(
                    live, planned, directory=deploy_dir, data_dir=None, recreated=True
                )
            ]
            crossing = image_change(_kind(desired), live.image, str(desired.get("image")))
            blockers += [f"{name}: {b}" for b in crossing.blockers]
        elif reload:
            services.append(ServiceChange(name, "reload", tuple(configs.get(name) or reload)))
        else:
            services.append(ServiceChange(name, "unchanged"))
    for name in sorted(set(containers) - set(compose.get("services") or {})):
        services.append(ServiceChange(name, "remove", ("not in the spec (needs --allow-remove)",)))
    notes = []
    if any(f.path.startswith("grafana/dashboards/") for f in files):
        notes.append("Grafana picks up dashboard files through provisioning, without a restart")
    notes += [f"stack: {r}" for r in definitions.get("stack", []) + configs.get("stack", [])]
    return Plan(
        environment=bundle.environment,
        host=host,
        deploy_dir=deploy_dir,
        files=tuple(files),
        services=tuple(services),
        unmanaged=unmanaged(inventory, bundle.project, compose),
        notes=tuple(notes),
        blockers=tuple(blockers),
        missing_secrets=_missing(bundle, live_files),
    )


__all__ = ["KIND_LABEL", "container_reasons", "deployed_files", "make_plan", "project_containers"]
