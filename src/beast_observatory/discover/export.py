"""Inventory -> observatory.yaml (pure): the spec that rebuilds what runs on a host.

Known services (Prometheus, Pushgateway, Grafana, Alertmanager, node-exporter) map to their
sections; everything else becomes ``services.extra`` compose fragments. Secrets become
references (``${NAME}``, ``admin_password: {env: ...}``), never the redaction marker. What the
spec cannot say is left out and named in ``ExportResult.notes`` (also written as comments at
the top of the spec). The result is validated with the pydantic ``Spec``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from beast_observatory.discover.export_grafana import grafana_section
from beast_observatory.discover.export_prometheus import (
    alertmanager_section,
    node_exporter_section,
    prometheus_section,
    pushgateway_section,
)
from beast_observatory.discover.mapping import (
    COMPOSE_PROJECT,
    DATA_DIRS,
    ExportContext,
    compose_environment,
    data_mount,
    healthcheck,
    network_names,
    published,
    restart_policy,
    sanitize_name,
    scrub_markers,
    service_environment,
)
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.probe.inventory import is_redacted, service_kind
from beast_observatory.render.prometheus import CONTAINER_PORTS
from beast_observatory.spec.models import Spec
from beast_observatory.yamlio import YamlError, dump_yaml, load_yaml

SECTIONS = {
    "prometheus": prometheus_section,
    "pushgateway": pushgateway_section,
    "grafana": grafana_section,
    "alertmanager": alertmanager_section,
    "node_exporter": node_exporter_section,
}
RENDERED_NAMES = {
    "prometheus": "prometheus",
    "pushgateway": "pushgateway",
    "grafana": "grafana",
    "alertmanager": "alertmanager",
    "node_exporter": "node-exporter",
}
DROPPED_KEYS = ("build", "extends", "secrets", "configs", "develop")


@dataclass(frozen=True)
class ExportResult:
    spec_text: str
    files: dict[str, bytes]  # beside the spec: rules/, dashboards/, alertmanager/
    notes: list[str]
    project: str


def compose_projects_with(inventory: Mapping[str, Any], kind: str) -> list[str]:
    names = set()
    for c in inventory.get("containers") or []:
        project = (c.get("labels") or {}).get(COMPOSE_PROJECT)
        if project and service_kind(c["image"], c.get("entrypoint") or []) == kind:
            names.add(project)
    return sorted(names)


def select_project(
    inventory: Mapping[str, Any], project: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """The compose project to export and its containers (the first with a Prometheus by default)."""
    containers = inventory.get("containers") or []
    known = sorted({(c.get("labels") or {}).get(COMPOSE_PROJECT) or "" for c in containers} - {""})
    if project is None:
        with_prometheus = compose_projects_with(inventory, "prometheus")
        if not with_prometheus:
            alone = [
                c
                for c in containers
                if not (c.get("labels") or {}).get(COMPOSE_PROJECT)
                and service_kind(c["image"], c.get("entrypoint") or []) == "prometheus"
            ]
            if alone:
                return None, [
                    c for c in containers if not (c.get("labels") or {}).get(COMPOSE_PROJECT)
                ]
            raise ObservatoryError(
                "no Prometheus found on the host to export",
                hint=f"name a compose project with --project (found: {', '.join(known) or 'none'})",
            )
        project = with_prometheus[0]
    chosen = [c for c in containers if (c.get("labels") or {}).get(COMPOSE_PROJECT) == project]
    if not chosen:
        raise ObservatoryError(
            f"no container of compose project {project!r} on the host",
            hint=f"use one of: {', '.join(known) or '(none)'}",
        )
    return project, chosen


def _compose_services(ctx: ExportContext) -> None:
    """Parse the project's compose files (merged in order) as the probe read them."""
    for entry in ctx.inventory.get("compose_projects") or []:
        if entry["name"] != ctx.project:
            continue
        ctx.working_dir = entry.get("working_dir")
        for path in entry.get("config_files") or []:
            record = (entry.get("files") or {}).get(path) or {}
            if record.get("content") is None:
                ctx.note(
                    f"compose file {path} could not be read ({record.get('error')}): "
                    "working from docker inspect"
                )
                continue
            try:
                doc = load_yaml(str(record["content"]), path)
            except YamlError as exc:
                ctx.note(f"compose file {path}: {exc.message}")
                continue
            for name, service in (
                ((doc or {}).get("services") or {}).items() if isinstance(doc, dict) else []
            ):
                if isinstance(service, dict):
                    ctx.compose.setdefault(str(name), {}).update(service)


def _base(ctx: ExportContext, kind: str, c: Mapping[str, Any], bind_address: str) -> dict[str, Any]:
    out: dict[str, Any] = {"image": c["image"], "restart": restart_policy(ctx, c)}
    port = CONTAINER_PORTS[RENDERED_NAMES[kind]]
    binding = published(c, port)
    if binding is None:
        out["publish"] = False
        if c.get("ports"):
            ctx.note(
                f"{c['name']}: publishes {', '.join(c['ports'])}, "
                f"not {port}/tcp as the spec's layout expects"
            )
    else:
        address, host_port = binding
        out["port"] = host_port
        if address != bind_address:
            out["bind_address"] = address
    if hc := healthcheck(c):
        out["healthcheck"] = hc
    else:
        ctx.note(f"{c['name']}: no healthcheck on the host; the spec adds its own")
    if kind != "grafana":
        env = service_environment(ctx, c)
        if env:
            out["environment"] = env
    if kind in DATA_DIRS and (data := data_mount(ctx, c, DATA_DIRS[kind])):
        out["data"] = data
    out["networks"] = network_names(ctx, c)
    return out


def _absolute(ctx: ExportContext, source: str) -> str:
    if source.startswith((".", "~")) and ctx.working_dir:
        return posixpath.normpath(posixpath.join(ctx.working_dir, source))
    return source


def _extra_volumes(ctx: ExportContext, name: str, volumes: list[Any]) -> list[Any]:
    out: list[Any] = []
    for entry in volumes:
        if isinstance(entry, str):
            source, sep, rest = entry.partition(":")
            if sep and source.startswith((".", "~", "/")):
                out.append(f"{_absolute(ctx, source)}:{rest}")
                continue
            if sep:
                ctx.note(
                    f"service {name}: named volume {source} must be declared by hand "
                    "(the spec declares none for extra services)"
                )
        elif (
            isinstance(entry, dict)
            and entry.get("type") == "bind"
            and isinstance(entry.get("source"), str)
        ):
            out.append({**entry, "source": _absolute(ctx, entry["source"])})
            continue
        out.append(entry)
    return out


def _extra_from_compose(
    ctx: ExportContext, name: str, c: Mapping[str, Any], fragment: dict[str, Any]
) -> dict[str, Any]:
    out = {k: v for k, v in fragment.items() if k not in DROPPED_KEYS}
    for key in sorted(set(fragment) & set(DROPPED_KEYS)):
        ctx.note(
            f"service {name}: '{key}' is left out "
            "(it needs top-level compose sections the spec does not have)"
        )
    if "environment" in out:
        env = compose_environment(out["environment"])
        out["environment"] = {
            k: ctx.secret_env(k, f"service {name}: {k} holds a secret")
            if v is None or is_redacted(v)
            else v
            for k, v in sorted(env.items())
        }
    if isinstance(out.get("volumes"), list):
        out["volumes"] = _extra_volumes(ctx, name, out["volumes"])
    if isinstance(out.get("env_file"), (str, list)):
        files = [out["env_file"]] if isinstance(out["env_file"], str) else out["env_file"]
        out["env_file"] = [_absolute(ctx, str(f)) if isinstance(f, str) else f for f in files]
    if isinstance(out.get("depends_on"), list):
        out["depends_on"] = [ctx.renames.get(str(d), str(d)) for d in out["depends_on"]]
    elif isinstance(out.get("depends_on"), dict):
        out["depends_on"] = {
            ctx.renames.get(str(k), str(k)): v for k, v in out["depends_on"].items()
        }
    network_names(ctx, c)  # declares the networks the fragment names
    return out


def _inspect_ports(c: Mapping[str, Any]) -> list[str]:
    return [
        f"{b['host_ip'] + ':' if b['host_ip'] else ''}{b['host_port']}:{p.replace('/tcp', '')}"
        for p, binds in sorted((c.get("ports") or {}).items())
        for b in binds
    ]


def _inspect_mounts(ctx: ExportContext, name: str, c: Mapping[str, Any]) -> list[str]:
    out = []
    for m in c.get("mounts") or []:
        if m["type"] == "bind":
            out.append(f"{m['source']}:{m['destination']}{'' if m['rw'] else ':ro'}")
        elif m["type"] == "volume":
            ctx.note(
                f"service {name}: volume {m['name']} at {m['destination']} must be declared by hand"
            )
    return out


def _extra_from_inspect(ctx: ExportContext, name: str, c: Mapping[str, Any]) -> dict[str, Any]:
    """A compose fragment rebuilt from docker inspect (no compose file was read)."""
    labels = {
        k: v
        for k, v in (c.get("labels") or {}).items()
        if not k.startswith(("com.docker.compose.", "org.beast-observatory."))
    }
    candidates: dict[str, Any] = {
        "image": c["image"],
        "entrypoint": list(c.get("entrypoint") or []),
        "command": list(c.get("cmd") or []),
        "environment": service_environment(ctx, c),
        "ports": _inspect_ports(c),
        "volumes": _inspect_mounts(ctx, name, c),
        "user": c.get("user") or "",
        "restart": restart_policy(ctx, c),
        "labels": labels,
        "networks": network_names(ctx, c),
    }
    return {k: v for k, v in candidates.items() if v}


def _extras(ctx: ExportContext, containers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in containers:
        name = sanitize_name(ctx.service_name(c))
        while name in out or name in RENDERED_NAMES.values():
            name = f"{name}-2"
        fragment = ctx.fragment(c)
        out[name] = (
            _extra_from_compose(ctx, name, c, fragment)
            if fragment
            else _extra_from_inspect(ctx, name, c)
        )
    return out


def _bind_address(known: Mapping[str, dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for c in known.values():
        for binds in (c.get("ports") or {}).values():
            for b in binds:
                address = b.get("host_ip") or "0.0.0.0"  # noqa: S104 - docker's wildcard
                counts[address] = counts.get(address, 0) + 1
    return max(sorted(counts), key=lambda a: counts[a]) if counts else "127.0.0.1"


def _split(
    containers: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    known: dict[str, dict[str, Any]] = {}
    others = []
    for c in sorted(containers, key=lambda c: c["name"]):
        kind = service_kind(c["image"], c.get("entrypoint") or [])
        if kind and kind not in known:
            known[kind] = c
        else:
            others.append(c)
    return known, others


def export_spec(
    inventory: Mapping[str, Any],
    *,
    project: str | None = None,
    environment: str = "local",
    ssh_host: str | None = None,
) -> ExportResult:
    """The spec (text), its side files and notes for the chosen compose project."""
    chosen_project, containers = select_project(inventory, project)
    ctx = ExportContext(inventory, chosen_project, containers)
    _compose_services(ctx)
    known, others = _split(containers)
    for kind, c in known.items():
        for live in {ctx.service_name(c), c["name"]} - {RENDERED_NAMES[kind]}:
            ctx.renames[live] = RENDERED_NAMES[kind]
    bind_address = _bind_address(known)
    services: dict[str, Any] = {}
    for kind, section in SECTIONS.items():
        if kind not in known:
            if kind in ("prometheus", "pushgateway", "grafana"):
                services[kind] = {"enabled": False}
            continue
        c = known[kind]
        services[kind] = {
            **({"enabled": True} if kind in ("alertmanager", "node_exporter") else {}),
            **_base(ctx, kind, c, bind_address),
            **section(ctx, c),
        }
    if extras := _extras(ctx, others):
        services["extra"] = extras
    services = scrub_markers(ctx, services)
    name = (
        sanitize_name((chosen_project or "observatory").lower()).replace(".", "-")[:40].strip("-_")
        or "observatory"
    )
    env: dict[str, Any] = {
        "description": f"discovered on {inventory.get('host', {}).get('hostname') or 'the host'}",
        "bind_address": bind_address,
    }
    if ssh_host:
        env["ssh"] = {"host": ssh_host}
    data = {
        "version": 1,
        "project": name,
        "environments": {environment: env},
        "services": services,
        "networks": {k: ctx.networks[k] for k in sorted(ctx.networks)} or {"default": {}},
    }
    text = _spec_text(data, ctx, inventory)
    return ExportResult(
        spec_text=text, files=dict(sorted(ctx.files.items())), notes=list(ctx.notes), project=name
    )


def _spec_text(data: dict[str, Any], ctx: ExportContext, inventory: Mapping[str, Any]) -> str:
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ObservatoryError(
            "the exported spec does not validate:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="this is a gap in `observatory export`: please report it with the inventory.json",
        ) from None
    body = dump_yaml(spec.model_dump(mode="json", by_alias=True, exclude_unset=True))
    host = (inventory.get("host") or {}).get("hostname") or "the host"
    header = [
        f"# Exported by `observatory export` from {host}"
        + (f", compose project {ctx.project}." if ctx.project else ".")
    ]
    if ctx.secrets:
        header.append(
            "# Secrets stay on the host: the .env beside docker-compose.yml must set "
            f"{', '.join(sorted(ctx.secrets))}."
        )
    if ctx.notes:
        header.append("# What the spec could not carry over as it is:")
        header += [f"#   - {note}" for note in ctx.notes]
    return "\n".join(header) + "\n" + body
