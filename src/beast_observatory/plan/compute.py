"""Desired (a Bundle) against live (an inventory from the probe) -> Plan (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle, sha256
from beast_observatory.errors import ObservatoryError
from beast_observatory.plan.adopt import SpecView, adoption_drift, is_unmanaged
from beast_observatory.plan.files import (
    HOST_ONLY,
    parse_content,
    prometheus_summary,
    same_content,
    unified_diff,
)
from beast_observatory.plan.model import FileChange, Plan, ServiceChange
from beast_observatory.render.compose import RESTART_HASH_LABEL
from beast_observatory.yamlio import load_yaml

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
STATE_FILE = "state.json"

# Which service a file belongs to and what a change to it needs.
RELOAD_PREFIXES = {"prometheus/": "prometheus", "alertmanager/": "alertmanager"}


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


def _live_ports(container: Mapping[str, Any]) -> set[str]:
    out = set()
    for cport, binds in (container.get("ports") or {}).items():
        for b in binds or []:
            host_ip = b.get("host_ip") or "0.0.0.0"  # noqa: S104 - docker's notation, not a bind
            out.add(f"{host_ip}:{b.get('host_port')}:{cport.split('/')[0]}")
    return out


def _desired_ports(service: Mapping[str, Any]) -> set[str]:
    return {str(p) for p in service.get("ports") or []}


def container_reasons(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Why a running container no longer matches its compose service (empty: it matches)."""
    reasons = []
    if desired.get("image") != live.get("image"):
        reasons.append(f"image {live.get('image')} -> {desired.get('image')}")
    if "command" in desired and list(desired["command"]) != list(live.get("cmd") or []):
        reasons += _flag_reasons(list(live.get("cmd") or []), list(desired["command"])) or [
            "command changed"
        ]
    if _desired_ports(desired) != _live_ports(live):
        before = ", ".join(sorted(_live_ports(live))) or "none"
        reasons.append(f"ports {before} -> {', '.join(sorted(_desired_ports(desired))) or 'none'}")
    live_env = live.get("env") or {}
    for key, value in sorted((desired.get("environment") or {}).items()):
        if "${" in str(value):
            continue  # a secret reference: its value never leaves the host
        if str(live_env.get(key)) != str(value):
            reasons.append(f"environment {key} changed")
    restart = desired.get("restart", "no")
    if (live.get("restart_policy") or "no") != restart:
        reasons.append(f"restart policy {live.get('restart_policy') or 'no'} -> {restart}")
    labels = live.get("labels") or {}
    want = (desired.get("labels") or {}).get(RESTART_HASH_LABEL)
    if RESTART_HASH_LABEL in labels and want and labels[RESTART_HASH_LABEL] != want:
        reasons.append(
            "configuration that only a restart picks up changed (grafana.ini or provisioning)"
        )
    return reasons


def _file_changes(
    bundle: Bundle, live_files: Mapping[str, Any]
) -> tuple[list[FileChange], dict[str, list[str]]]:
    changes: list[FileChange] = []
    summaries: dict[str, list[str]] = {}
    for path, data in sorted(bundle.files.items()):
        desired = data.decode("utf-8", "replace")
        record = live_files.get(path)
        live = record.get("content") if isinstance(record, Mapping) else None
        if record is None:
            changes.append(FileChange(path, "add", unified_diff(path, None, desired)))
        elif isinstance(record, Mapping) and record.get("sha256") == sha256(data):
            continue  # same bytes; the only test for files too big for the probe to read
        elif live is None or not same_content(path, desired, live):
            changes.append(FileChange(path, "change", unified_diff(path, live, desired)))
            if path == "prometheus/prometheus.yml":
                summaries["prometheus"] = prometheus_summary(
                    parse_content(path, live or ""), parse_content(path, desired)
                )
    # Only files this tool put there (listed in the host's manifest) are ever removed; anything
    # else in the directory belongs to someone else and is left alone.
    for path in sorted(deployed_files(live_files) - set(bundle.files)):
        if path in live_files and not HOST_ONLY.match(path):
            changes.append(
                FileChange(
                    path, "remove", unified_diff(path, live_files[path].get("content"), None)
                )
            )
    return changes, summaries


def deployed_files(live_files: Mapping[str, Any]) -> set[str]:
    """Paths the host's manifest lists (what an earlier build deployed there)."""
    record = live_files.get("manifest.json")
    content = record.get("content") if isinstance(record, Mapping) else None
    try:
        files = json.loads(content or "{}").get("files") or {}
    except (ValueError, AttributeError):
        return set()
    return {str(p) for p in files} if isinstance(files, dict) else set()


def _reload_reasons(
    service: str, files: list[FileChange], summaries: dict[str, list[str]]
) -> list[str]:
    prefix = {v: k for k, v in RELOAD_PREFIXES.items()}.get(service)
    touched = [
        f.path
        for f in files
        if prefix and f.path.startswith(prefix) and f.path != f"{prefix}web.yml"
    ]
    if not touched:
        return []
    return summaries.get(service) or [
        f"{p} {f.action}d" for p in touched for f in files if f.path == p
    ]


def project_containers(inventory: Mapping[str, Any], project: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for c in inventory.get("containers") or []:
        labels = c.get("labels") or {}
        if labels.get(PROJECT_LABEL) == project and labels.get(SERVICE_LABEL):
            out.setdefault(labels[SERVICE_LABEL], c)
    return out


# Compared against the container itself by container_reasons.
_SEEN_ON_CONTAINER = frozenset({"image", "command", "ports", "environment", "restart", "labels"})


def definition_reasons(desired: Mapping[str, Any], deployed: Mapping[str, Any] | None) -> list[str]:
    """What else changed in the service's compose definition since the deployed one: compose
    recreates the container for any of it (volumes, limits, networks, healthcheck...)."""
    if deployed is None:
        return []
    reasons = []
    for key in sorted((set(desired) | set(deployed)) - _SEEN_ON_CONTAINER):
        before, after = deployed.get(key), desired.get(key)
        if before == after:
            continue
        if key == "volumes":
            gone = [v for v in before or [] if v not in (after or [])]
            new = [v for v in after or [] if v not in (before or [])]
            reasons.append(
                f"volumes {', '.join(gone) or '-'} -> {', '.join(new) or '-'}"
                " (data in a volume or path that is no longer mounted stays there, unused)"
            )
        else:
            reasons.append(f"{key} changed")
    return reasons


def _deployed_services(live_files: Mapping[str, Any]) -> dict[str, Any]:
    record = live_files.get("docker-compose.yml")
    content = record.get("content") if isinstance(record, Mapping) else None
    try:
        doc = load_yaml(content, "docker-compose.yml") if content else None
    except ObservatoryError:
        return {}
    services = doc.get("services") if isinstance(doc, dict) else None
    return services if isinstance(services, dict) else {}


def _unmanaged(
    inventory: Mapping[str, Any], project: str, compose: Mapping[str, Any]
) -> dict[str, tuple[str, ...]]:
    containers = sorted(
        str(c.get("name", "")).lstrip("/")
        for c in inventory.get("containers") or []
        if (c.get("labels") or {}).get(PROJECT_LABEL) != project
    )
    ours_vol = {f"{project}_{v}" for v in compose.get("volumes") or {}}
    ours_net = {f"{project}_{n}" for n in compose.get("networks") or {}} | {
        "bridge",
        "host",
        "none",
    }
    # compose labels what it creates: a volume kept from a removed service is still ours
    volumes = sorted(
        v["name"]
        for v in inventory.get("volumes") or []
        if v.get("name") not in ours_vol and (v.get("labels") or {}).get(PROJECT_LABEL) != project
    )
    networks = sorted(
        n["name"]
        for n in inventory.get("networks") or []
        if n.get("name") not in ours_net and (n.get("labels") or {}).get(PROJECT_LABEL) != project
    )
    return {"containers": tuple(containers), "volumes": tuple(volumes), "networks": tuple(networks)}


def _pending(live_files: Mapping[str, Any], bundle: Bundle) -> bool:
    """True when files were switched to this spec but the apply that did it never finished."""
    state = live_files.get(STATE_FILE, {}).get("content") if STATE_FILE in live_files else None
    manifest = live_files.get("manifest.json", {}).get("content")
    try:
        applied = json.loads(state)["spec_sha256"] if state else None
        deployed = json.loads(manifest)["spec_sha256"] if manifest else None
    except (ValueError, KeyError, TypeError):
        return True
    return deployed == bundle.spec_sha256 and applied != deployed


def adoption_plan(
    bundle: Bundle, inventory: Mapping[str, Any], spec: SpecView, *, deploy_dir: str, host: str
) -> Plan:
    """A hand-made stack of the same compose project runs on the host: compare in spec terms.

    No drift: nothing to do. Drift: the first apply writes every file into deploy_dir and
    compose recreates each service from the generated definition (named volumes are kept)."""
    compose: dict[str, Any] = load_yaml(bundle.files["docker-compose.yml"], "docker-compose.yml")
    drift = adoption_drift(inventory, spec, bundle.project, bundle.environment)
    note = (
        f"the host runs compose project {bundle.project} made without beast-observatory "
        f"(no manifest in {deploy_dir}); it was compared with the spec setting by setting"
    )
    unmanaged = _unmanaged(inventory, bundle.project, compose)
    if not drift:
        services = tuple(ServiceChange(name, "unchanged") for name in sorted(compose["services"]))
        return Plan(bundle.environment, host, deploy_dir, (), services, unmanaged, (note,))
    files = tuple(
        FileChange(p, "add", unified_diff(p, None, d.decode()))
        for p, d in sorted(bundle.files.items())
    )
    services = tuple(
        ServiceChange(
            name,
            "recreate",
            tuple(drift.get(name) or ["taken over: recreated from the generated compose file"]),
        )
        for name in sorted(compose["services"])
    )
    stack_notes = tuple(f"stack: {r}" for r in drift.get("stack", []))
    return Plan(
        bundle.environment, host, deploy_dir, files, services, unmanaged, (note, *stack_notes)
    )


def make_plan(
    bundle: Bundle,
    inventory: Mapping[str, Any],
    *,
    deploy_dir: str,
    host: str,
    spec: SpecView | None = None,
) -> Plan:
    compose: dict[str, Any] = load_yaml(bundle.files["docker-compose.yml"], "docker-compose.yml")
    live_files = (inventory.get("directories") or {}).get(deploy_dir) or {}
    if spec is not None and is_unmanaged(inventory, live_files, bundle.project):
        return adoption_plan(bundle, inventory, spec, deploy_dir=deploy_dir, host=host)
    files, summaries = _file_changes(bundle, live_files)
    deployed_services = _deployed_services(live_files)
    containers = project_containers(inventory, bundle.project)
    pending = _pending(live_files, bundle)
    services = []
    for name, desired in sorted((compose.get("services") or {}).items()):
        live = containers.get(name)
        if live is None:
            services.append(ServiceChange(name, "create", ("no container",)))
            continue
        reasons = container_reasons(desired, live)
        reasons += definition_reasons(desired, deployed_services.get(name))
        state = (live.get("state") or {}).get("status")
        if not reasons and state != "running":
            reasons = [f"container is {state}"]
        if reasons:
            services.append(ServiceChange(name, "recreate", tuple(reasons)))
        elif reload := _reload_reasons(name, files, summaries) or (
            ["the last apply did not finish"]
            if pending and name in ("prometheus", "alertmanager")
            else []
        ):
            services.append(ServiceChange(name, "reload", tuple(reload)))
        else:
            services.append(ServiceChange(name, "unchanged"))
    for name in sorted(set(containers) - set(compose.get("services") or {})):
        services.append(ServiceChange(name, "remove", ("not in the spec (needs --allow-remove)",)))
    notes = []
    if any(f.path.startswith("grafana/dashboards/") for f in files):
        notes.append("Grafana picks up dashboard files through provisioning, without a restart")
    return Plan(
        environment=bundle.environment,
        host=host,
        deploy_dir=deploy_dir,
        files=tuple(files),
        services=tuple(services),
        unmanaged=_unmanaged(inventory, bundle.project, compose),
        notes=tuple(notes),
    )
