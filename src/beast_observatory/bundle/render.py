"""Render one environment's whole tree (pure): Stack + referenced files -> Bundle.

Every known kind renders its files and its compose service (``kinds/*/render.py``), extra
services their fragments; this module puts them together with docker-compose.yml and
.env.example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle, canonical_json, key_ordered, sha256, yaml_file
from beast_observatory.fleet import render as fleet
from beast_observatory.kinds.alertmanager import render as alertmanager
from beast_observatory.kinds.extra.render import render_extra, shipped
from beast_observatory.kinds.grafana import render as grafana
from beast_observatory.kinds.model import KIND_NAMES
from beast_observatory.kinds.node_exporter import render as node_exporter
from beast_observatory.kinds.prometheus import render as prometheus
from beast_observatory.kinds.prometheus.rule_tests import render_rule_tests
from beast_observatory.kinds.pushgateway import render as pushgateway
from beast_observatory.kinds.service import (
    KindParts,
    Service,
    compose_service,
    shipped_files,
    shipped_sources,
)
from beast_observatory.names import COMPOSE_FILE, ENV_EXAMPLE, HEADER
from beast_observatory.spec.resolve import Stack

Assets = Mapping[str, bytes]
Matches = Mapping[str, tuple[str, ...]]


def prometheus_tests(stack: Stack, assets: Assets) -> dict[str, bytes]:
    """The rule tests, beside the rules in Prometheus' folder."""
    folder = prometheus.FOLDER
    return {f"{folder}/{rel}": data for rel, data in render_rule_tests(stack, assets).items()}


def kind_files(stack: Stack, key: str, assets: Assets, matches: Matches) -> dict[str, bytes]:
    """The configuration files a known kind renders (its folder of the bundle)."""
    if key == "prometheus":
        return {**prometheus.render_files(stack, assets), **prometheus_tests(stack, assets)}
    if key == "grafana":
        return grafana.render_files(stack, assets, matches)
    if key == "alertmanager":
        return alertmanager.render_files(stack, assets)
    if key == "pushgateway":
        return pushgateway.render_files(stack)
    return {}


def kind_parts(stack: Stack, key: str, files: Mapping[str, bytes]) -> KindParts:
    if key == "prometheus":
        return prometheus.compose_parts(stack)
    if key == "grafana":
        return grafana.compose_parts(stack, files)
    if key == "alertmanager":
        return alertmanager.compose_parts(stack)
    if key == "pushgateway":
        return pushgateway.compose_parts(stack)
    return node_exporter.compose_parts(stack)


def mountpoints(
    parts: KindParts, volumes: list[Any], files: Mapping[str, bytes]
) -> dict[str, bytes]:
    """Empty files where a mount lands inside the kind's read-only config folder: docker
    cannot make the mount point in a read-only mount, so the release carries it."""
    if parts.config_mount is None:
        return {}
    folder, directory = parts.config_mount
    out = {}
    for entry in volumes:
        target = (
            str(entry.get("target") or "")
            if isinstance(entry, dict)
            else (str(entry).split(":")[1] if str(entry).count(":") >= 1 else "")
        )
        if target.startswith(directory.rstrip("/") + "/"):
            path = f"{folder}/{target[len(directory.rstrip('/')) + 1 :]}"
            if path not in files:
                out[path] = b""
    return out


def declared_networks(
    stack: Stack, *, leave_out: frozenset[str] = frozenset(), driver: str | None = None
) -> dict[str, Any]:
    """The top-level networks: the spec's fields but ``leave_out``; ``driver`` where the
    spec says bridge or nothing (a swarm stack's overlay)."""
    out: dict[str, Any] = {}
    for name, net in stack.networks.items():
        if net.external:
            out[name] = {"external": True, "name": net.name or name}
            continue
        entry = {
            k: v
            for k, v in net.model_dump(exclude={"external", *leave_out}).items()
            if v is not None and v != {}
        }
        if driver is not None and entry.get("driver") in (None, "bridge"):
            entry["driver"] = driver
        out[name] = key_ordered(entry)
    return out


def declared_volumes(stack: Stack, used: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level volumes: every one a service uses or the spec declares, as compose and
    docker stack deploy read them."""
    out: dict[str, Any] = {}
    for name in sorted(set(used) | set(stack.volumes)):
        vol = stack.volumes.get(name)
        if vol is None:
            out[name] = None
        elif vol.external:
            out[name] = {"external": True, "name": vol.name or name}
        else:
            entry = {
                k: v
                for k, v in vol.model_dump(exclude={"external"}).items()
                if v is not None and v != {}
            }
            out[name] = key_ordered(entry) or None
    return out


def render_compose(services: Mapping[str, Service], stack: Stack, volumes: dict[str, Any]) -> bytes:
    """docker-compose.yml. Works with Compose v2 and v1 (1.29): no top-level ``name:`` (the
    project name is passed with ``-p``) and no ``version:`` key."""
    doc: dict[str, Any] = {"services": dict(services)}
    if declared := declared_volumes(stack, volumes):
        doc["volumes"] = declared
    doc["networks"] = declared_networks(stack)
    return yaml_file(doc, HEADER)


# ${VAR}, ${VAR:-default}, ${VAR:?message} and $VAR; `$$` is an escaped dollar.
_COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def secret_variables(services: Mapping[str, Service]) -> list[str]:
    """Names of the variables the stack reads from .env at deploy time: every variable the
    rendered compose file interpolates (secrets by reference)."""
    names: set[str] = set()
    for service in services.values():
        for text in _strings(service):
            names.update(a or b for a, b in _COMPOSE_VARIABLE.findall(text))
    return sorted(names)


def render_env_example(services: Mapping[str, Service]) -> bytes:
    lines = [
        "# Secrets this stack needs at deploy time: copy to .env next to docker-compose.yml",
        "# and fill in the values. Never commit .env; beast-observatory never writes it.",
    ]
    lines += [f"{name}=" for name in secret_variables(services)]
    return ("\n".join(lines) + "\n").encode()


def stack_fingerprint(stack: Stack, assets: Assets) -> str:
    """Hash of everything the environment's output depends on, independent of key order."""
    data = {
        "project": stack.project,
        "environment": stack.environment.model_dump(mode="json"),
        "services": stack.services.model_dump(mode="json", by_alias=True),
        "networks": {k: v.model_dump(mode="json") for k, v in stack.networks.items()},
        "volumes": {k: v.model_dump(mode="json") for k, v in stack.volumes.items()},
        "assets": {k: sha256(v) for k, v in sorted(assets.items())},
    }
    return sha256(canonical_json(data))


def render_stack(stack: Stack, assets: Assets, matches: Matches) -> Bundle:
    if stack.environment.engine == "swarm":  # a stack file instead of a compose project
        from beast_observatory.swarm.render import render_swarm_stack  # noqa: PLC0415

        return render_swarm_stack(stack, assets, matches)
    stack = fleet.with_fleet_jobs(stack)  # its Prometheus scrapes the environment's fleet
    files: dict[str, bytes] = fleet.file_sd_files(stack)
    services: dict[str, Service] = {}
    volumes: dict[str, Any] = {}
    for key in KIND_NAMES:
        svc = stack.kind(key)
        if not svc.enabled:
            continue
        own = kind_files(stack, key, assets, matches)
        parts = kind_parts(stack, key, own)
        own.update(mountpoints(parts, svc.volumes, own))
        ship = shipped_files(shipped_sources(svc.volumes), assets, matches)
        files.update(own)
        files.update(ship)
        services[stack.service_name(key)] = compose_service(stack, key, svc, parts, volumes, ship)
    for name in sorted(stack.services.extra):
        service, ship = render_extra(stack, name, stack.services.extra[name], assets, matches)
        services[name] = service
        files.update(ship)
    files[COMPOSE_FILE] = render_compose(services, stack, volumes)
    files[ENV_EXAMPLE] = render_env_example(services)
    wanted = used_assets(stack, matches)
    used = {k: v for k, v in assets.items() if k in wanted}
    return Bundle(
        project=stack.project,
        environment=stack.env_name,
        spec_sha256=stack_fingerprint(stack, used),
        files=dict(sorted(files.items())),
        # No generated file holds a secret in clear: web.yml carries bcrypt hashes only, and
        # must stay readable by the image's user (nobody), so nothing here needs mode 0600.
        secret_files=frozenset(),
    )


def asset_refs(stack: Stack) -> set[str]:
    """Relative paths, globs and folders of every file one environment references."""
    s = stack.services
    refs: set[str] = set()
    if s.prometheus.enabled:
        refs.update(r.path for r in s.prometheus.rule_files if r.path)
        refs.update(t.path for t in s.prometheus.rule_tests if t.path)
        refs.update(s.prometheus.files.values())
    if s.grafana.enabled:
        refs.update(f for p in s.grafana.dashboards for f in p.files)
    if s.alertmanager.enabled:
        refs.update(s.alertmanager.files.values())
        if s.alertmanager.config_path:
            refs.add(s.alertmanager.config_path)
    for key in stack.enabled_kinds():
        refs.update(shipped_sources(stack.kind(key).volumes))
    for fragment in s.extra.values():
        refs.update(shipped(fragment))
    refs.update(fleet.fleet_asset_refs(stack))
    return refs


def used_assets(stack: Stack, matches: Matches) -> set[str]:
    return {path for ref in asset_refs(stack) for path in matches.get(ref, (ref,))}
