"""The stack file against the services Swarm runs -> Plan (pure).

Per service: ``create`` (no such service), ``update`` (its spec differs: Swarm replaces its
tasks, one at a time, stopping the old one first; the reasons say which field and why a
task must go: a config or secret is immutable, so new content is a new config and a new
task), ``remove`` (in Swarm, not in the stack file) or ``unchanged`` (``docker stack deploy``
leaves its tasks alone). Files are compared as for compose (plan/compute.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.host.probe.inventory import FileRecord
from beast_observatory.plan.compute import file_changes
from beast_observatory.plan.files import missing_secrets
from beast_observatory.plan.model import Plan, ServiceChange
from beast_observatory.swarm.inspect import ServiceShape, desired_shape, live_shape
from beast_observatory.swarm.names import STACK_FILE
from beast_observatory.yamlio import load_yaml

_REPLACED = "Swarm replaces its task(s) one at a time, the old one stopped first"


def _listed(values: Any) -> str:
    return ", ".join(sorted(values)) or "none"


def _mapping_reasons(what: str, live: Mapping[str, str], want: Mapping[str, str]) -> list[str]:
    """Config or secret mounts by target: a new name is new content."""
    out = []
    for target in sorted(set(live) | set(want)):
        before, after = live.get(target), want.get(target)
        if before == after:
            continue
        if before is None:
            out.append(f"{what} {after} added at {target}")
        elif after is None:
            out.append(f"{what} {before} at {target} removed")
        else:
            out.append(
                f"{what} at {target}: {before} -> {after} (new content; {what}s are "
                "immutable, so the task is replaced to mount the new one)"
            )
    return out


def _flag_reasons(live: tuple[str, ...], want: tuple[str, ...]) -> list[str]:
    def flags(args: tuple[str, ...]) -> dict[str, str]:
        return dict(a.partition("=")[::2] for a in args)

    lf, wf = flags(live), flags(want)
    out = [
        f"flag {k.lstrip('-')}: {lf.get(k, '(unset)')} -> {wf.get(k, '(unset)')}"
        for k in sorted(set(lf) | set(wf))
        if lf.get(k) != wf.get(k)
    ]
    return out or ["command changed"]


def _same_args(live: tuple[str, ...], want: tuple[str, ...]) -> bool:
    """A desired argument with a variable matches whatever the host put there."""
    if len(live) != len(want):
        return False
    return all(
        have.startswith(w.split("$", 1)[0]) if "$" in w else have == w
        for have, w in zip(live, want, strict=True)
    )


def _env_reasons(live: Mapping[str, str], want: Mapping[str, str]) -> list[str]:
    out = []
    for key in sorted(set(live) | set(want)):
        value = want.get(key)
        if value is not None and "$" in value and key in live:
            continue  # from the host's .env: its value never leaves the host
        if live.get(key) != value:
            out.append(f"environment {key} changed")
    return out


def _task_reasons(live: ServiceShape, want: ServiceShape) -> list[str]:
    """What of the task itself changed: Swarm replaces the tasks for each of these."""
    out: list[str] = []
    if live.image != want.image:
        out.append(f"image {live.image} -> {want.image}")
    if not _same_args(live.args, want.args):
        out += _flag_reasons(live.args, want.args)
    out += _env_reasons(live.env, want.env)
    out += _mapping_reasons("config", live.configs, want.configs)
    out += _mapping_reasons("secret", live.secrets, want.secrets)
    if live.mounts != want.mounts:
        out.append(f"mounts {_listed(live.mounts)} -> {_listed(want.mounts)}")
    return out + _service_reasons(live, want)


def _service_reasons(live: ServiceShape, want: ServiceShape) -> list[str]:
    """What of the service around its tasks changed (Swarm replaces the tasks for these too)."""
    out: list[str] = []
    if live.ports != want.ports:
        out.append(f"ports {_listed(live.ports)} -> {_listed(want.ports)}")
    for key in sorted(set(live.labels) | set(want.labels)):
        if live.labels.get(key) != want.labels.get(key):
            out.append(f"label {key}: {live.labels.get(key)} -> {want.labels.get(key)}")
    if live.constraints != want.constraints:
        out.append(f"placement {_listed(live.constraints)} -> {_listed(want.constraints)}")
    if live.restart != want.restart:
        out.append(f"restart policy {live.restart} -> {want.restart}")
    if (live.nano_cpus, live.memory) != (want.nano_cpus, want.memory):
        out.append("resource limits changed")
    if live.health != want.health:
        out.append("healthcheck changed")
    return out


def shape_reasons(live: ServiceShape, want: ServiceShape) -> list[str]:
    """Why Swarm will update the service (empty: it will leave it alone)."""
    out: list[str] = []
    if live.mode != want.mode:
        out.append(f"mode {live.mode} -> {want.mode}")
    elif live.replicas != want.replicas:
        out.append(f"replicas {live.replicas} -> {want.replicas} (tasks added or removed only)")
    return out + _task_reasons(live, want)


def _only_scaling(reasons: list[str]) -> bool:
    return all(r.startswith("replicas ") for r in reasons)


def _keeps(want: ServiceShape) -> list[str]:
    volumes = sorted(m.split(" ")[1] for m in want.mounts if m.startswith("volume "))
    if not volumes:
        return []
    where = f" on the node {_listed(want.constraints)} pins it to" if want.constraints else ""
    return [f"its data volume {', '.join(volumes)} stays{where}"]


def swarm_plan(
    bundle: Bundle,
    live_services: Sequence[Mapping[str, Any]],
    *,
    files: Mapping[str, FileRecord],
    secret_names: Mapping[str, str],
    env_names: frozenset[str] | None,
    deploy_dir: str,
    host: str,
    notes: tuple[str, ...] = (),
) -> Plan:
    """live_services: ``docker service inspect`` of the stack's services."""
    stack_file: dict[str, Any] = load_yaml(bundle.files[STACK_FILE], STACK_FILE) or {}
    project = bundle.project
    live = {s.name: s for s in (live_shape(d) for d in live_services)}
    changes = []
    for name, entry in sorted((stack_file.get("services") or {}).items()):
        want = desired_shape(project, name, entry or {}, stack_file, secret_names)
        have = live.get(want.name)
        if have is None:
            changes.append(ServiceChange(name, "create", ("no such service in the swarm",)))
            continue
        reasons = shape_reasons(have, want)
        if not reasons:
            changes.append(ServiceChange(name, "unchanged"))
        elif _only_scaling(reasons):
            changes.append(ServiceChange(name, "update", tuple(reasons)))
        else:
            changes.append(ServiceChange(name, "update", (*reasons, _REPLACED, *_keeps(want))))
    wanted = {f"{project}_{n}" for n in stack_file.get("services") or {}}
    for full in sorted(set(live) - wanted):
        short = full.removeprefix(f"{project}_")
        changes.append(ServiceChange(short, "remove", ("not in the spec (needs --allow-remove)",)))
    example = bundle.files.get(".env.example")
    env = "".join(f"{n}=set\n" for n in sorted(env_names)) if env_names is not None else None
    return Plan(
        environment=bundle.environment,
        host=host,
        deploy_dir=deploy_dir,
        files=tuple(file_changes(bundle, files)),
        services=tuple(changes),
        notes=notes,
        missing_secrets=missing_secrets(example, env),
    )
