"""Inventory -> observatory.yaml (pure): the spec that makes the host's stack again, doing
exactly what it does.

Each known kind (Prometheus, Pushgateway, Grafana, Alertmanager, node-exporter) is read back
by its own reader (``kinds/*/read.py``), everything else becomes ``services.extra`` compose
fragments (``kinds/extra/read.py``); both share the common reader (``kinds/read.py``). The
tool's own additions are turned off (no self-scrape, no healthcheck, data volume or data
source the host did not have). Secrets become references to the host's .env, never values.
Besides the environment of the host, a ``local`` environment runs the same stack on this
workstation: loopback ports, named volumes for the host's data folders, networks of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from beast_observatory.discover.context import ExportContext, dotenv, sanitize_name, scrub
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.probe.inventory import Container, Inventory
from beast_observatory.kinds.alertmanager import read as alertmanager
from beast_observatory.kinds.detect import service_kind
from beast_observatory.kinds.extra.read import read_extra
from beast_observatory.kinds.grafana import read as grafana
from beast_observatory.kinds.identity import identity, resources
from beast_observatory.kinds.model import KIND_NAMES
from beast_observatory.kinds.node_exporter import read as node_exporter
from beast_observatory.kinds.prometheus import read as prometheus
from beast_observatory.kinds.pushgateway import read as pushgateway
from beast_observatory.kinds.read import (
    KindFacts,
    data_store,
    environment,
    healthcheck,
    networks,
    ports_fields,
    restart,
    volumes,
)
from beast_observatory.spec.models import Spec
from beast_observatory.yamlio import YamlError, dump_yaml, load_yaml

Reader = Callable[[ExportContext, Container], dict[str, Any]]
FACTS: dict[str, Callable[[ExportContext, Container], KindFacts]] = {
    "prometheus": lambda _ctx, c: prometheus.facts(c),
    "pushgateway": lambda _ctx, c: pushgateway.facts(c),
    "grafana": grafana.facts,
    "alertmanager": lambda _ctx, c: alertmanager.facts(c),
    "node_exporter": lambda _ctx, c: node_exporter.facts(c),
}
READERS: dict[str, Reader] = {
    "prometheus": prometheus.read_prometheus,
    "pushgateway": pushgateway.read_pushgateway,
    "grafana": grafana.read_grafana,
    "alertmanager": alertmanager.read_alertmanager,
    "node_exporter": node_exporter.read_node_exporter,
}
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ExportResult:
    spec_text: str
    files: dict[str, bytes]  # beside the spec: rules/, dashboards/, captured config files
    notes: list[str]
    project: str


def kind_of(c: Container) -> str | None:
    return service_kind(c.image, c.entrypoint)


def select_project(inventory: Inventory, project: str | None) -> tuple[str | None, list[Container]]:
    """The compose project to export and its containers (the first with a Prometheus by default)."""
    known = sorted({c.project for c in inventory.containers if c.project})
    if project is None:
        with_prometheus = sorted(
            {c.project for c in inventory.containers if c.project and kind_of(c) == "prometheus"}
        )
        if not with_prometheus:
            alone = [c for c in inventory.containers if not c.project]
            if any(kind_of(c) == "prometheus" for c in alone):
                return None, alone
            raise ObservatoryError(
                "no Prometheus found on the host to export",
                hint=f"name a compose project with --project (found: {', '.join(known) or 'none'})",
            )
        project = with_prometheus[0]
    chosen = inventory.project(project)
    if not chosen:
        raise ObservatoryError(
            f"no container of compose project {project!r} on the host",
            hint=f"use one of: {', '.join(known) or '(none)'}",
        )
    return project, chosen


def read_compose_files(ctx: ExportContext) -> None:
    """The project's compose files (merged in order) and its .env, as the probe read them."""
    for entry in ctx.inventory.compose_projects:
        if entry.name != ctx.project:
            continue
        ctx.working_dir = entry.working_dir
        for path, record in sorted(entry.files.items()):
            if path.endswith("/.env") and record.content:
                ctx.variables.update(
                    {
                        k: v
                        for k, v in dotenv(record.content).items()
                        if not v.startswith("<redacted")
                    }
                )
        for path in entry.config_files:
            found = entry.files.get(path)
            if found is None or found.content is None:
                ctx.note(f"compose file {path} could not be read: working from docker inspect")
                continue
            try:
                doc = load_yaml(found.content, path)
            except YamlError as exc:
                ctx.note(f"compose file {path}: {exc.message}")
                continue
            services = doc.get("services") if isinstance(doc, dict) else None
            for name, service in (services or {}).items() if isinstance(services, dict) else ():
                if isinstance(service, dict):
                    ctx.compose.setdefault(str(name), {}).update(service)


def replicas(containers: list[Container]) -> dict[str, list[Container]]:
    """The containers of each compose service (several: its replicas), first one first."""
    groups: dict[str, list[Container]] = {}
    for c in containers:
        groups.setdefault(c.service or c.name, []).append(c)
    number = "com.docker.compose.container-number"
    return {
        k: sorted(v, key=lambda c: (int(c.labels.get(number, "0") or 0), c.name))
        for k, v in sorted(groups.items())
    }


def split(containers: list[Container]) -> tuple[dict[str, Container], list[Container]]:
    """The first service of each known kind, and the rest (extra services): one container
    of each compose service stands for its replicas."""
    known: dict[str, Container] = {}
    others = []
    for group in replicas(containers).values():
        c = group[0]
        kind = kind_of(c)
        if kind and kind not in known:
            known[kind] = c
        else:
            others.append(c)
    return known, others


def _scale(ctx: ExportContext, c: Container, count: int) -> dict[str, Any]:
    """How many replicas the service runs, when the compose file does not say it already."""
    fragment = ctx.fragment(c) or {}
    said = "scale" in fragment or "replicas" in (fragment.get("deploy") or {})
    return {"scale": count} if count > 1 and not said else {}


def bind_address(known: Mapping[str, Container]) -> str:
    counts: dict[str, int] = {}
    for c in known.values():
        for binds in c.ports.values():
            for b in binds:
                counts[b.host_ip] = counts.get(b.host_ip, 0) + 1
    return max(sorted(counts), key=lambda a: counts[a]) if counts else LOOPBACK


def kind_section(ctx: ExportContext, key: str, c: Container, address: str) -> dict[str, Any]:
    facts = FACTS[key](ctx, c)
    section = READERS[key](ctx, c)
    name = ctx.service_name(c)
    out: dict[str, Any] = {"image": c.image}
    if key in ("alertmanager", "node_exporter"):
        out["enabled"] = True
    if name != facts.default_name:
        out["service_name"] = name
    out["container_port"] = facts.container_port
    out.update(ports_fields(c, facts.container_port, address))
    out["restart"] = restart(c)
    out["healthcheck"] = healthcheck(c)
    out["environment"] = environment(ctx, c, facts)
    out["data"] = data_store(ctx, c, facts)
    skip = [*facts.consumed, *([facts.data_dir] if facts.data_dir and out["data"] else [])]
    mounts = volumes(ctx, c, name, skip)
    out["volumes"] = mounts.entries
    if mounts.differs:
        ctx.local.setdefault("services", {}).setdefault(key, {})["volumes"] = mounts.local
    nets, mode = networks(ctx, c)
    out["networks"] = nets if mode is None else []
    compose = identity(ctx, c, entrypoint=False)
    compose.update(_scale(ctx, c, len(replicas(ctx.containers).get(name, [c]))))
    if mode is not None:
        compose["network_mode"] = mode
    if limits := resources(c):
        out["resources"] = limits
    out["compose"] = compose
    out.update(section)
    return out


def _loopback(entry: Any) -> Any:
    if not isinstance(entry, str):
        return {**entry, "host_ip": LOOPBACK} if isinstance(entry, dict) else entry
    parts = re.split(r":(?![^\[]*\])", entry)
    return f"{LOOPBACK}:{':'.join(parts[-2:])}" if len(parts) >= 2 else entry  # noqa: PLR2004


def local_environment(ctx: ExportContext, services: Mapping[str, Any]) -> dict[str, Any]:
    """The same stack on this workstation: loopback ports, no host data folders."""
    overrides: dict[str, Any] = {
        key: dict(value) for key, value in (ctx.local.get("services") or {}).items()
    }
    extra = overrides.pop("extra", {})
    for key in KIND_NAMES:
        svc = services.get(key) or {}
        if svc.get("ports"):
            overrides.setdefault(key, {})["ports"] = [_loopback(p) for p in svc["ports"]]
        elif "bind_address" in svc:
            overrides.setdefault(key, {})["bind_address"] = LOOPBACK
    for name, fragment in (services.get("extra") or {}).items():
        if fragment.get("ports"):
            extra.setdefault(name, {})["ports"] = [_loopback(p) for p in fragment["ports"]]
    if extra:
        overrides["extra"] = extra
    env: dict[str, Any] = {
        "description": "this workstation: the same stack, for testing before deployment",
        "bind_address": LOOPBACK,
    }
    if overrides:
        env["services"] = overrides
    for section in ("networks", "volumes"):
        if ctx.local.get(section):
            env[section] = dict(sorted(ctx.local[section].items()))
    return env


def export_spec(
    inventory: Inventory,
    *,
    project: str | None = None,
    environment: str = "local",
    ssh_host: str | None = None,
) -> ExportResult:
    """The spec (text), its side files and notes for the chosen compose project."""
    chosen, containers = select_project(inventory, project)
    ctx = ExportContext(inventory, chosen, containers)
    read_compose_files(ctx)
    known, others = split(containers)
    address = bind_address(known)
    services: dict[str, Any] = {}
    for key in KIND_NAMES:
        if key in known:
            services[key] = kind_section(ctx, key, known[key], address)
        elif key in ("prometheus", "pushgateway", "grafana"):
            services[key] = {"enabled": False}
    groups = replicas(containers)
    extras = {}
    for c in others:
        name = sanitize_name(ctx.service_name(c))
        extras[name] = {
            **read_extra(ctx, c, name),
            **_scale(ctx, c, len(groups[ctx.service_name(c)])),
        }
    if extras:
        services["extra"] = dict(sorted(extras.items()))
    services = scrub(ctx, services)
    name = (
        sanitize_name((chosen or "observatory").lower()).replace(".", "-")[:40].strip("-_")
        or "observatory"
    )
    target: dict[str, Any] = {
        "description": f"discovered on {inventory.host.hostname or 'the host'}",
        "bind_address": address,
    }
    if ssh_host:
        target["ssh"] = {"host": ssh_host}
    environments = {environment: target}
    if environment != "local":
        environments["local"] = local_environment(ctx, services)
    data = {
        "version": 1,
        "project": name,
        "environments": environments,
        "services": services,
        "networks": dict(sorted(ctx.networks.items())),
        "volumes": dict(sorted(ctx.volumes.items())),
    }
    text = _spec_text(data, ctx, inventory)
    return ExportResult(
        spec_text=text, files=dict(sorted(ctx.files.items())), notes=list(ctx.notes), project=name
    )


def _spec_text(data: dict[str, Any], ctx: ExportContext, inventory: Inventory) -> str:
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ObservatoryError(
            "the exported spec does not validate:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="this is a gap in `observatory export`: please report it with the inventory.json",
        ) from None
    body = dump_yaml(spec.model_dump(mode="json", by_alias=True, exclude_unset=True))
    host = inventory.host.hostname or "the host"
    header = [
        f"# Exported by `observatory export` from {host}"
        + (f", compose project {ctx.project}." if ctx.project else ".")
    ]
    if ctx.secrets:
        header.append(
            "# Secrets stay on the host: the .env beside docker-compose.yml must set "
            f"{', '.join(sorted(ctx.secrets))} (`observatory secrets set NAME`)."
        )
    if ctx.notes:
        header.append("# How the host's stack was carried over:")
        header += [f"#   - {note}" for note in ctx.notes]
    return "\n".join(header) + "\n" + body
