"""An environment with ``engine: swarm`` rendered as a stack file (pure): Stack -> Bundle.

Every kind renders its files and its compose service as for compose (kinds/*/render.py,
kinds/service.py); this module turns each compose service into a Swarm service:

- files the service reads (its configuration folder, files shipped beside the spec) become
  Swarm ``configs`` named by content (swarm/names.py), mounted file by file where the folder
  would have been: a release's files exist on the manager only, and Swarm has no bind mounts
  across nodes;
- secrets become Swarm ``secrets`` (swarm/secrets.py);
- ``deploy:`` says where tasks run (swarm/model.py), restart becomes ``restart_policy``,
  limits ``resources``; what Swarm ignores or refuses (container_name, depends_on, restart,
  pid, cpus/mem_limit...) is left out;
- ports are published in ``mode: host``: the ingress routing mesh is not used (it does not
  answer everywhere, and an exporter must be reached on its own node);
- networks are overlay networks, and targets of services with several tasks are discovered
  per task (swarm/discovery.py).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from beast_observatory.bundle.bundle import Bundle, key_ordered, yaml_file
from beast_observatory.bundle.render import (
    declared_networks,
    declared_volumes,
    kind_files,
    kind_parts,
    secret_variables,
    stack_fingerprint,
    used_assets,
)
from beast_observatory.kinds.extra.render import render_extra
from beast_observatory.kinds.model import KIND_NAMES
from beast_observatory.kinds.service import (
    Service,
    compose_service,
    shipped_files,
    shipped_sources,
)
from beast_observatory.names import ENV_EXAMPLE, HEADER, RESTART_HASH_LABEL, TOOL_LABELS
from beast_observatory.spec.resolve import Stack
from beast_observatory.swarm.discovery import (
    DOCKER_SOCKET,
    extra_swarm,
    swarm_prometheus_config,
)
from beast_observatory.swarm.model import EXTRA_KEY, SwarmPlacement
from beast_observatory.swarm.names import STACK_FILE, STACK_VERSION, config_name
from beast_observatory.swarm.secrets import SwarmSecret, stack_secrets, without_runtime_secrets
from beast_observatory.swarm.service import (
    IGNORED_KEYS,
    Files,
    deploy_section,
    host_ports,
    ordered_service,
    split_volumes,
)

MANAGER = "node.role == manager"


def swarm_service(
    stack: Stack,
    compose: Service,
    placement: SwarmPlacement,
    files: Files,
    *,
    exporter: bool,
    secrets: Sequence[SwarmSecret],
) -> tuple[Service, dict[str, dict[str, str]]]:
    """The stack file's service made from a compose service, and the configs it mounts
    (stack key -> {name, file})."""
    out: Service = {k: v for k, v in compose.items() if k not in IGNORED_KEYS}
    for key in ("cpus", "mem_limit", "mem_reservation", "scale"):
        out.pop(key, None)
    if isinstance(out.get("healthcheck"), dict):
        out["healthcheck"] = {k: v for k, v in out["healthcheck"].items() if k != "start_interval"}
    if "ports" in compose:
        out["ports"] = host_ports(compose["ports"])
    mounts, config_mounts = split_volumes(compose.get("volumes") or [], files)
    if mounts:
        out["volumes"] = mounts
    else:
        out.pop("volumes", None)
    configs = {}
    entries = []
    for target, path in sorted(config_mounts.items()):
        name = config_name(stack.project, path, files[path])
        configs[name] = {"name": name, "file": f"./{path}"}
        entries.append({"source": name, "target": target})
    if entries:
        out["configs"] = entries
    if secrets:
        out["secrets"] = [{"source": s.key, "target": s.target} for s in secrets]
    labels = {k: v for k, v in (compose.get("labels") or {}).items() if k != RESTART_HASH_LABEL}
    out["labels"] = labels
    # data in a volume lives on one node; the Swarm API answers on managers only
    stateful = any(_is_data(m) or DOCKER_SOCKET in str(m) for m in mounts)
    constraints = placement.constraints
    if constraints is None:
        constraints = [MANAGER] if stateful else []
    deploy = deploy_section(
        placement,
        constraints,
        exporter=exporter,
        restart=str(compose.get("restart", "unless-stopped")),
        cpus=compose.get("cpus"),
        memory=compose.get("mem_limit"),
        reservation=compose.get("mem_reservation"),
        replicas=compose.get("scale"),
        labels={k: v for k, v in labels.items() if k in TOOL_LABELS},
    )
    own = compose.get("deploy")
    out["deploy"] = _merged(deploy, own) if isinstance(own, dict) else deploy
    return ordered_service(out), configs


def _is_data(mount: str | dict[str, Any]) -> bool:
    """A named volume or a host path that keeps data on one node (not a read-only bind)."""
    if isinstance(mount, dict):
        return mount.get("type") == "volume" or (
            mount.get("type") == "bind" and not mount.get("read_only")
        )
    parts = mount.split(":")
    return len(parts) >= 2 and not parts[-1].startswith("ro") and parts[-1] != "ro"  # noqa: PLR2004


def _merged(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    ordered: dict[str, Any] = key_ordered(out)
    return ordered


def render_env_example(variables: Sequence[str]) -> bytes:
    lines = [
        "# Secrets this stack needs at deploy time: copy to .env next to docker-stack.yml on",
        "# the manager and fill in the values. Never commit .env; beast-observatory never writes",
        "# it. `apply` makes Swarm secrets of them (named by the value's hash) when it deploys.",
    ]
    lines += [f"{name}=" for name in variables]
    return ("\n".join(lines) + "\n").encode()


def _kind_services(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> tuple[dict[str, Service], dict[str, bytes], dict[str, Any], dict[str, Any]]:
    """Services of the known kinds, their files, the volumes and configs they use."""
    services: dict[str, Service] = {}
    files: dict[str, bytes] = {}
    volumes: dict[str, Any] = {}
    configs: dict[str, Any] = {}
    secrets = stack_secrets(stack)
    for key in KIND_NAMES:
        svc = stack.kind(key)
        if not svc.enabled:
            continue
        own = kind_files(stack, key, assets, matches)
        if key == "prometheus":
            own["prometheus/prometheus.yml"] = yaml_file(swarm_prometheus_config(stack), HEADER)
        parts = without_runtime_secrets(stack, key, kind_parts(stack, key, own))
        if key == "node_exporter":  # Swarm has no pid: host; the host's / is mounted still
            parts = replace(parts, extra={k: v for k, v in parts.extra.items() if k != "pid"})
        ship = shipped_files(shipped_sources(svc.volumes), assets, matches)
        files.update(own)
        files.update(ship)
        name = stack.service_name(key)
        compose = compose_service(stack, key, svc, parts, volumes, ship)
        if key == "prometheus" and stack.environment.swarm.discovery == "dockerswarm_sd":
            # dockerswarm_sd_configs asks the Swarm API: a manager's socket (constraint below)
            socket = f"{DOCKER_SOCKET}:{DOCKER_SOCKET}:ro"
            compose["volumes"] = [*(compose.get("volumes") or []), socket]
        mine = [s for s in secrets if s.service == name]
        service, used = swarm_service(
            stack, compose, svc.swarm, files, exporter=key == "node_exporter", secrets=mine
        )
        services[name] = service
        configs.update(used)
    return services, files, volumes, configs


def render_swarm_stack(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> Bundle:
    services, files, volumes, configs = _kind_services(stack, assets, matches)
    for name in sorted(stack.services.extra):
        fragment = stack.services.extra[name]
        compose, ship = render_extra(stack, name, fragment, assets, matches)
        files.update(ship)
        x = extra_swarm(fragment)
        compose = {k: v for k, v in compose.items() if k != EXTRA_KEY}
        if (
            x.exporter is not None
            and "networks" not in compose
            and stack.services.prometheus.enabled
        ):
            # an exporter with no network of its own joins Prometheus' (to be scraped)
            compose["networks"] = stack.services.prometheus.network_names()
        for entry in compose.get("volumes") or []:
            source = entry.split(":")[0] if isinstance(entry, str) else ""
            if source and not source.startswith(("/", ".")):
                volumes.setdefault(source, {})
        service, used = swarm_service(
            stack, compose, x, files, exporter=x.exporter is not None, secrets=[]
        )
        services[name] = service
        configs.update(used)
    secrets = stack_secrets(stack)
    doc: dict[str, Any] = {"version": STACK_VERSION, "services": services}
    # read by apply (docker stack deploy ignores x- keys)
    doc["x-observatory"] = {"resolve-image": stack.environment.swarm.resolve_image}
    if configs:
        doc["configs"] = dict(sorted(configs.items()))
    if secrets:
        doc["secrets"] = {s.key: s.stack_entry() for s in sorted(secrets, key=lambda s: s.key)}
    if declared := declared_volumes(stack, volumes):
        doc["volumes"] = declared
    # overlay where the spec says bridge (its default); no IPv6 switch in a stack file
    doc["networks"] = declared_networks(
        stack, leave_out=frozenset({"enable_ipv6"}), driver="overlay"
    )
    files[STACK_FILE] = yaml_file(doc, HEADER)
    variables = set(secret_variables(services)) | {s.ref.env for s in secrets if s.ref.env}
    files[ENV_EXAMPLE] = render_env_example(sorted(v for v in variables if v))
    wanted = used_assets(stack, matches)
    used_files = {k: v for k, v in assets.items() if k in wanted}
    return Bundle(
        project=stack.project,
        environment=stack.env_name,
        spec_sha256=stack_fingerprint(stack, used_files),
        files=dict(sorted(files.items())),
        secret_files=frozenset(),
    )


def config_files(stack_file: Mapping[str, Any]) -> dict[str, str]:
    """Config name -> the bundle file it is made of, as a stack file declares them."""
    out = {}
    for name, entry in (stack_file.get("configs") or {}).items():
        source = str((entry or {}).get("file") or "")
        out[str((entry or {}).get("name") or name)] = posixpath.normpath(source)
    return out
