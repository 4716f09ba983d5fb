"""Typed inventories for the tests: what the probe would report about a host, built as values.

``container`` / ``inventory`` describe a host made by hand; ``deployed`` describes a host that
runs a rendered bundle (what docker and the probe would report about it), so that the
readers and the planner can be tested against exactly what the renderer wrote.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.host.probe.inventory import (
    Attachment,
    Binding,
    ComposeProject,
    Container,
    FileRecord,
    Healthcheck,
    Host,
    Image,
    Inventory,
    Mount,
    Network,
    State,
    Volume,
)
from beast_observatory.names import (
    COMPOSE_CONFIG_FILES,
    COMPOSE_FILE,
    COMPOSE_NETWORK,
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    COMPOSE_VOLUME,
    COMPOSE_WORKING_DIR,
)
from beast_observatory.yamlio import load_yaml

BCRYPT = "$2b$10$rDsVqzQQovpxejME4Q8dV.fBZLdZ.R7WSPEUevhixHNREQFOGABr6"
MARK = "<redacted sha256:0123456789ab>"
PROJECT = "beast"
# Entrypoints of the upstream images: how the kinds are told apart by their program.
ENTRYPOINTS = {
    "prometheus": ("/bin/prometheus",),
    "pushgateway": ("/bin/pushgateway",),
    "alertmanager": ("/bin/alertmanager",),
    "node-exporter": ("/bin/node_exporter",),
    "grafana": ("/run.sh",),
}


def text_file(content: str | None, host_path: str = "", error: str | None = None) -> FileRecord:
    data = (content or "").encode()
    return FileRecord(
        host_path=host_path,
        sha256=hashlib.sha256(data).hexdigest() if content is not None else None,
        size=len(data) if content is not None else None,
        content=content,
        error=error,
        copied=not host_path,
    )


def published(port: int, host_port: int, ip: str = "127.0.0.1") -> dict[str, tuple[Binding, ...]]:
    return {f"{port}/tcp": (Binding(ip, str(host_port)),)}


def bind(source: str, destination: str, *, rw: bool = True) -> Mount:
    return Mount("bind", source, destination, rw=rw)


def volume(name: str, destination: str, project: str | None = PROJECT) -> Mount:
    real = f"{project}_{name}" if project else name
    return Mount("volume", f"/var/lib/docker/volumes/{real}/_data", destination, name=real)


def anonymous(destination: str) -> Mount:
    name = hashlib.sha256(destination.encode()).hexdigest()
    return Mount("volume", f"/var/lib/docker/volumes/{name}/_data", destination, name=name)


def container(
    name: str,
    image: str,
    *,
    project: str | None = PROJECT,
    service: str | None = None,
    cmd: Iterable[str] = (),
    entrypoint: Iterable[str] | None = None,
    env: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    mounts: Iterable[Mount] = (),
    ports: Mapping[str, tuple[Binding, ...]] | None = None,
    networks: Iterable[str | Attachment] | None = None,
    restart: str = "unless-stopped",
    healthcheck: Healthcheck | None = None,
    user: str = "",
    config: Mapping[str, Any] | None = None,
    host_config: Mapping[str, Any] | None = None,
    status: str = "running",
    container_name: str | None = None,
) -> Container:
    """A container as docker inspect describes it; compose's labels when it has a project."""
    service = service or name
    all_labels = dict(labels or {})
    if project:
        all_labels |= {COMPOSE_PROJECT: project, COMPOSE_SERVICE: service}
    kind = next((k for k in ENTRYPOINTS if k in image), None)
    default_entry = ENTRYPOINTS[kind] if kind else ()
    nets = networks if networks is not None else [f"{project}_default" if project else "bridge"]
    policy, _, maximum = restart.partition(":")
    return Container(
        id=hashlib.sha256(name.encode()).hexdigest(),
        name=container_name or (f"{project}-{service}-1" if project else name),
        image=image,
        image_id=f"sha256:{image}",
        cmd=tuple(cmd),
        entrypoint=tuple(entrypoint) if entrypoint is not None else default_entry,
        env=dict(env or {}),
        labels=all_labels,
        mounts=tuple(sorted(mounts, key=lambda m: m.destination)),
        ports=dict(ports or {}),
        networks=tuple(n if isinstance(n, Attachment) else Attachment(n) for n in nets),
        restart_policy=policy,
        restart_max=int(maximum or 0),
        healthcheck=healthcheck,
        user=user,
        state=State(status=status),
        config=dict(config or {}),
        host_config=dict(host_config or {}),
    )


def project_volume(key: str, project: str = PROJECT) -> Volume:
    return Volume(f"{project}_{key}", "local", {COMPOSE_PROJECT: project, COMPOSE_VOLUME: key})


def project_network(key: str, project: str = PROJECT, *, internal: bool = False) -> Network:
    labels = {COMPOSE_PROJECT: project, COMPOSE_NETWORK: key}
    return Network(f"{project}_{key}", "bridge", labels, internal=internal)


def compose_project(
    files: Mapping[str, str],
    *,
    name: str = PROJECT,
    working_dir: str = "/srv/beast",
    config_files: Iterable[str] = ("docker-compose.yml",),
) -> ComposeProject:
    """A compose project of the host: its files by name relative to working_dir."""
    records = {
        posixpath.join(working_dir, rel): text_file(text, posixpath.join(working_dir, rel))
        for rel, text in files.items()
    }
    return ComposeProject(
        name, working_dir, tuple(posixpath.join(working_dir, f) for f in config_files), records
    )


def compose_labels(
    working_dir: str, files: Iterable[str] = ("docker-compose.yml",)
) -> dict[str, str]:
    """The labels compose puts on a container about the files that made it."""
    return {
        COMPOSE_WORKING_DIR: working_dir,
        COMPOSE_CONFIG_FILES: ",".join(posixpath.join(working_dir, f) for f in files),
    }


def inventory(
    *containers: Container,
    files: Mapping[str, Mapping[str, str | FileRecord]] | None = None,
    volumes: Iterable[Volume] = (),
    networks: Iterable[Network] = (),
    projects: Iterable[ComposeProject] = (),
    directories: Mapping[str, Mapping[str, FileRecord]] | None = None,
    images: Iterable[Image] = (),
    hostname: str = "vonnegut",
) -> Inventory:
    """An inventory; files: container name -> path inside it -> content (or a record)."""
    config_files = {
        owner: {p: r if isinstance(r, FileRecord) else text_file(r) for p, r in paths.items()}
        for owner, paths in (files or {}).items()
    }
    known = {c.image_id: Image(c.image_id, entrypoint=c.entrypoint) for c in containers}
    known.update({i.id: i for i in images})
    return Inventory(
        host=Host(hostname, "Linux"),
        containers=tuple(containers),
        images=known,
        volumes=tuple(volumes),
        networks=tuple(networks),
        compose_projects=tuple(projects),
        config_files=config_files,
        directories=dict(directories or {}),
    )


# ----------------------------------------------------------------- a host running a bundle

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def _interpolated(value: str, env: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m.group(1), MARK), value).replace("$$", "$")


def _ports(entries: Iterable[Any]) -> dict[str, tuple[Binding, ...]]:
    out: dict[str, list[Binding]] = {}
    for entry in entries:
        if isinstance(entry, dict):
            key = f"{entry['target']}/{entry.get('protocol', 'tcp')}"
            binding = Binding(str(entry.get("host_ip", "")), str(entry.get("published", "")))
        else:
            spec, _, proto = str(entry).partition("/")
            parts = re.split(r":(?![^\[]*\])", spec)
            ip = parts[0].strip("[]") if len(parts) == 3 else ""
            key = f"{parts[-1]}/{proto or 'tcp'}"
            binding = Binding(ip, parts[-2] if len(parts) > 1 else "")
        out.setdefault(key, []).append(binding)
    return {k: tuple(v) for k, v in out.items()}


def _mounts(
    service: Mapping[str, Any], project: str, directory: str, declared: Mapping[str, Any]
) -> list[Mount]:
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            kind, source, target = entry["type"], str(entry.get("source", "")), entry["target"]
            rw = not entry.get("read_only")
        else:
            parts = str(entry).split(":")
            source, target = parts[0], parts[1]
            rw = not (len(parts) > 2 and "ro" in parts[2].split(","))
            kind = "bind" if source.startswith((".", "/")) else "volume"
        if kind == "bind":
            path = posixpath.normpath(posixpath.join(directory, source))
            out.append(Mount("bind", path, target, rw=rw))
        elif kind == "volume":
            real = (declared.get(source) or {}).get("name") or f"{project}_{source}"
            out.append(Mount("volume", f"/var/lib/docker/volumes/{real}/_data", target, rw, real))
        else:
            out.append(Mount(kind, "", target, rw=rw))
    return out


def _networks(
    service: Mapping[str, Any], project: str, name: str, declared: Mapping[str, Any]
) -> list[Attachment]:
    raw = service.get("networks") or []
    attachments = raw if isinstance(raw, dict) else dict.fromkeys(raw)
    out = []
    for key, settings in sorted(attachments.items()):
        real = (declared.get(key) or {}).get("name") or f"{project}_{key}"
        aliases = {name, *((settings or {}).get("aliases") or [])}
        out.append(
            Attachment(real, tuple(sorted(aliases)), (settings or {}).get("ipv4_address", ""))
        )
    return out


def _healthcheck(raw: Mapping[str, Any] | None) -> Healthcheck | None:
    if not raw:
        return None
    if raw.get("disable"):
        return Healthcheck(("NONE",))
    test = raw["test"]
    test = ["CMD-SHELL", test] if isinstance(test, str) else list(test)
    return Healthcheck(
        tuple(test),
        raw.get("interval"),
        raw.get("timeout"),
        raw.get("start_period"),
        raw.get("retries"),
    )


_HOST_LISTS = ("cap_add", "cap_drop", "extra_hosts", "dns", "dns_search", "security_opt")
# compose key -> (inspect section, field, how docker shows the value)
_INSPECT: dict[str, tuple[str, str, Any]] = {
    **{k: ("config", k, None) for k in ("hostname", "domainname", "working_dir", "stop_signal")},
    "stop_grace_period": ("config", "stop_timeout", lambda v: int(str(v).rstrip("s"))),
    "tty": ("config", "tty", bool),
    "stdin_open": ("config", "open_stdin", bool),
    "expose": (
        "config",
        "exposed",
        lambda v: {(p if "/" in str(p) else f"{p}/tcp"): {} for p in v},
    ),
    **{k: ("host", k, list) for k in _HOST_LISTS},
    **{k: ("host", k, None) for k in ("privileged", "read_only", "init", "sysctls", "pids_limit")},
    "pid": ("host", "pid_mode", None),
    "network_mode": ("host", "network_mode", None),
    "logging": ("host", "log_type", lambda v: v.get("driver", "json-file")),
    "cpus": ("host", "nano_cpus", lambda v: int(float(v) * 1e9)),
    "mem_limit": ("host", "memory", lambda v: int(str(v)[:-1]) * _UNITS[str(v)[-1]]),
}
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _identity(service: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Config, HostConfig) fields docker inspect shows for compose keys of a service."""
    out: dict[str, dict[str, Any]] = {"config": {}, "host": {}}
    for key, (section, name, shown) in _INSPECT.items():
        if key in service:
            out[section][name] = shown(service[key]) if shown else service[key]
    return out["config"], out["host"]


def deployed(
    bundle: Bundle,
    *,
    directory: str = "/opt/observatory/beast",
    env: Mapping[str, str] | None = None,
    with_files: bool = True,
    hostname: str = "vonnegut",
) -> Inventory:
    """What the probe reports about a host where ``bundle`` was deployed in directory and
    brought up: every container as docker inspect describes it, the files each one reads
    (at their paths inside it), the compose project and the deploy directory."""
    values = dict(env or {})
    compose = load_yaml(bundle.files[COMPOSE_FILE], COMPOSE_FILE)
    project = bundle.project
    declared_volumes = compose.get("volumes") or {}
    declared_networks = compose.get("networks") or {}
    containers, files = [], {}
    for name, svc in sorted(compose["services"].items()):
        config, host = _identity(svc)
        logging = svc.get("logging") or {}
        environment = svc.get("environment") or {}
        c = container(
            name,
            svc["image"],
            project=project,
            cmd=[_interpolated(str(a), values) for a in svc.get("command") or []],
            entrypoint=(
                [_interpolated(str(a), values) for a in svc["entrypoint"]]
                if "entrypoint" in svc
                else None
            ),
            env={k: _interpolated(str(v), values) for k, v in environment.items()},
            labels={
                **{k: str(v) for k, v in (svc.get("labels") or {}).items()},
                **compose_labels(directory),
            },
            mounts=_mounts(svc, project, directory, declared_volumes),
            ports=_ports(svc.get("ports") or []),
            networks=_networks(svc, project, name, declared_networks),
            restart=str(svc.get("restart", "no")),
            healthcheck=_healthcheck(svc.get("healthcheck")),
            user=str(svc.get("user", "")),
            config=config,
            host_config=host,
            container_name=svc.get("container_name"),
        )
        if logging.get("options"):
            c = Container(**{**c.__dict__, "log_options": dict(logging["options"])})
        containers.append(c)
        files[c.name] = _seen_files(c, bundle, directory) if with_files else {}
    deploy = {
        p: text_file(d.decode(), posixpath.join(directory, p))
        for p, d in bundle.with_manifest().items()
    }
    labels = {COMPOSE_PROJECT: project}
    nets = [
        Network(_real(k, n, project), "bridge", {**labels, COMPOSE_NETWORK: k})
        for k, n in declared_networks.items()
        if not (n or {}).get("external")
    ]
    vols = [
        Volume(_real(k, v, project), "local", {**labels, COMPOSE_VOLUME: k})
        for k, v in declared_volumes.items()
        if not (v or {}).get("external")
    ]
    return inventory(
        *containers,
        files=files,
        volumes=vols,
        networks=nets,
        projects=[
            compose_project(
                {COMPOSE_FILE: bundle.files[COMPOSE_FILE].decode()},
                name=project,
                working_dir=directory,
            )
        ],
        directories={directory: deploy},
        hostname=hostname,
    )


def _real(key: str, declared: Mapping[str, Any] | None, project: str) -> str:
    """The name docker gives a network or volume the compose file declares."""
    return str((declared or {}).get("name") or f"{project}_{key}")


def _seen_files(c: Container, bundle: Bundle, directory: str) -> dict[str, FileRecord]:
    """The bundle's files as the container sees them through its bind mounts."""
    out = {}
    for m in c.mounts:
        if m.type != "bind" or not m.source.startswith(directory + "/"):
            continue
        relative = m.source[len(directory) + 1 :]
        for path, data in bundle.files.items():
            if path == relative:
                out[m.destination] = text_file(data.decode(), m.source)
            elif path.startswith(relative + "/"):
                inside = posixpath.join(m.destination, path[len(relative) + 1 :])
                out[inside] = text_file(data.decode(), posixpath.join(directory, path))
    return out
