"""What every exporter of a discovered service needs (pure): flags, env, mounts, files.

``ExportContext`` carries the inventory, the containers chosen for the spec, the side files
written beside it and the notes telling the user what could not be carried over.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.host.probe.inventory import is_redacted, is_secret_name

DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
MARKER = re.compile(r"<redacted(?: sha256:([0-9a-f]{12}))?>")
REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}?$")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_PROJECT = "com.docker.compose.project"
# Where each service keeps its data by default (the data mount is exported as `data`).
DATA_DIRS = {
    "prometheus": "/prometheus",
    "pushgateway": "/pushgateway",
    "grafana": "/var/lib/grafana",
    "alertmanager": "/alertmanager",
}
RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")

Flags = list[tuple[str, str | None]]


def parse_flags(args: Iterable[str]) -> Flags:
    """["--a=1", "--b", "2", "--c"] -> [("a", "1"), ("b", "2"), ("c", None)] (kingpin's forms)."""
    out: Flags = []
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        i += 1
        if not arg.startswith("-"):
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if eq:
            out.append((name, value))
        elif i < len(items) and not items[i].startswith("-"):
            out.append((name, items[i]))
            i += 1
        else:
            out.append((name, None))
    return out


def flag_text(name: str, value: str | None) -> str:
    return f"--{name}" if value is None else f"--{name}={value}"


def flag_value(flags: Flags, *names: str) -> str | None:
    for name, value in reversed(flags):
        if name in names:
            return value if value is not None else ""
    return None


def sanitize_name(value: str) -> str:
    """A spec Name (letters, digits, _.-; 63 at most) close to value."""
    out = re.sub(r"[^a-zA-Z0-9_.-]+", "-", value).strip("-_.")
    return (out or "unnamed")[:63]


def reference_name(value: object) -> str | None:
    """FOO for "${FOO}", "$FOO" or "${FOO:-x}"; None for anything else."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


@dataclass
class ExportContext:
    inventory: Mapping[str, Any]
    project: str | None
    containers: list[dict[str, Any]]
    compose: dict[str, dict[str, Any]] = field(default_factory=dict)
    working_dir: str | None = None
    renames: dict[str, str] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def add_file(self, path: str, content: str) -> str:
        """Write content beside the spec at path (another name if path is taken); the path used.

        Secrets redacted on the host become FILL-IN-SECRET-<hash> placeholders (these files
        are read as they are: no variable is expanded in them)."""
        if MARKER.search(content):
            content = MARKER.sub(lambda m: f"FILL-IN-SECRET-{m.group(1) or 'unknown'}", content)
            self.note(
                f"{path}: secrets were redacted on the host: replace each FILL-IN-SECRET-... "
                "with a reference to a file on the host (Alertmanager's *_file settings, e.g. "
                "smtp_auth_password_file), never with the secret itself"
            )
        stem, ext = posixpath.splitext(path)
        candidate, n = path, 2
        while candidate in self.files and self.files[candidate] != content.encode():
            candidate, n = f"{stem}-{n}{ext}", n + 1
        self.files[candidate] = content.encode()
        return candidate

    def config_files(self, container: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        return dict((self.inventory.get("config_files") or {}).get(container["name"]) or {})

    def config_text(self, container: Mapping[str, Any], path: str, what: str) -> str | None:
        """Content of a file the container sees at path, or None (with a note saying why)."""
        record = self.config_files(container).get(path)
        if record is None:
            self.note(f"{container['name']}: {what} {path} was not found through its mounts")
            return None
        if record.get("content") is None:
            self.note(
                f"{container['name']}: {what} {path} could not be read: {record.get('error')}"
            )
            return None
        return str(record["content"])

    def fragment(self, container: Mapping[str, Any]) -> dict[str, Any] | None:
        """The container's service in its compose file, if the probe read that file."""
        service = (container.get("labels") or {}).get(COMPOSE_SERVICE)
        found = self.compose.get(service) if service else None
        return dict(found) if isinstance(found, dict) else None

    def service_name(self, container: Mapping[str, Any]) -> str:
        return str((container.get("labels") or {}).get(COMPOSE_SERVICE) or container["name"])

    def host_path(self, container: Mapping[str, Any], path: str) -> str | None:
        """The host path of a file the container sees at path (through a bind mount)."""
        for mount in sorted(container.get("mounts") or [], key=lambda m: -len(m["destination"])):
            dest = mount["destination"].rstrip("/")
            if mount["type"] == "bind" and (path == dest or path.startswith(dest + "/")):
                return str(mount["source"]).rstrip("/") + path[len(dest) :]
        return None

    def secret_env(self, name: str, why: str) -> str:
        """A compose reference ${NAME} for a secret whose value stays on the host."""
        self.secrets.add(name)
        self.note(f"{why}: set {name} in the .env file beside docker-compose.yml on the host")
        return f"${{{name}}}"


def compose_environment(raw: object) -> dict[str, str | None]:
    """A compose `environment` (mapping or list of NAME=value) as a mapping."""
    if isinstance(raw, Mapping):
        return {str(k): None if v is None else str(v) for k, v in raw.items()}
    out: dict[str, str | None] = {}
    for item in raw if isinstance(raw, list) else []:
        name, eq, value = str(item).partition("=")
        out[name] = value if eq else None
    return out


IMAGE_ENV = {
    "PATH": DEFAULT_PATH,
    "GF_PATHS_CONFIG": "/etc/grafana/grafana.ini",
    "GF_PATHS_DATA": "/var/lib/grafana",
    "GF_PATHS_HOME": "/usr/share/grafana",
    "GF_PATHS_LOGS": "/var/log/grafana",
    "GF_PATHS_PLUGINS": "/var/lib/grafana/plugins",
    "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
}


def service_environment(
    ctx: ExportContext, container: Mapping[str, Any], drop: Iterable[str] = ()
) -> dict[str, str]:
    """The environment to put in the spec: as written in the compose file when the probe read
    it (references kept), else the container's minus the images' usual defaults. Secrets
    become ${NAME} references."""
    fragment = ctx.fragment(container)
    if fragment is not None and "environment" in fragment:
        env = compose_environment(fragment["environment"])
    elif fragment is not None:
        env = {}
    else:
        live = container.get("env") or {}
        env = {k: v for k, v in live.items() if IMAGE_ENV.get(k) != v}
    out: dict[str, str] = {}
    skip = set(drop)
    for name, value in sorted(env.items()):
        if name in skip:
            continue
        if not ENV_NAME.match(name):
            ctx.note(
                f"{container['name']}: environment variable {name!r} "
                "is not a NAME the spec accepts: left out"
            )
            continue
        if value is None:
            out[name] = f"${{{name}}}"
        elif is_redacted(value) or (
            is_secret_name(name) and reference_name(value) is None and value
        ):
            out[name] = ctx.secret_env(name, f"{container['name']}: {name} holds a secret")
        else:
            out[name] = value
    return out


def data_mount(
    ctx: ExportContext, container: Mapping[str, Any], directory: str
) -> dict[str, str] | None:
    """{"volume": name} or {"path": host path} for the mount at directory; None when none."""
    for mount in container.get("mounts") or []:
        if mount["destination"].rstrip("/") != directory.rstrip("/"):
            continue
        if mount["type"] == "bind":
            return {"path": mount["source"]}
        volume = volume_name(ctx, mount.get("name") or "")
        if volume:
            return {"volume": volume}
    ctx.note(f"{container['name']}: no volume holds {directory}: the spec gives it a named volume")
    return None


def volume_name(ctx: ExportContext, real: str) -> str | None:
    """The compose name of a volume of the project; None for an anonymous one."""
    for volume in ctx.inventory.get("volumes") or []:
        if volume["name"] != real:
            continue
        labels = volume.get("labels") or {}
        if labels.get(COMPOSE_PROJECT) == ctx.project and labels.get("com.docker.compose.volume"):
            return str(labels["com.docker.compose.volume"])
        if not re.fullmatch(r"[0-9a-f]{64}", real):
            ctx.note(
                f"volume {real} is not one of the project's: the spec's stack makes its own, "
                f"named {ctx.project}_{sanitize_name(real)}; copy the data over to keep it"
            )
            return sanitize_name(real)
    return None


def network_names(ctx: ExportContext, container: Mapping[str, Any]) -> list[str]:
    """The spec names of a container's networks (registering them in ctx.networks)."""
    out = []
    by_name = {n["name"]: n for n in ctx.inventory.get("networks") or []}
    for real in container.get("networks") or []:
        net = by_name.get(real) or {"name": real, "driver": "bridge", "labels": {}}
        labels = net.get("labels") or {}
        if real in ("host", "none"):
            ctx.note(
                f"{container['name']}: network mode {real} is not expressible for this service"
            )
            continue
        if labels.get(COMPOSE_PROJECT) == ctx.project and labels.get("com.docker.compose.network"):
            name = str(labels["com.docker.compose.network"])
            ctx.networks[name] = {"driver": net.get("driver") or "bridge"}
            if net.get("internal"):
                ctx.note(f"network {name} is internal on the host; the spec has no such setting")
        else:
            name = sanitize_name(real)
            ctx.networks[name] = {"external": True, "name": real}
        out.append(name)
    return sorted(set(out))


def published(container: Mapping[str, Any], port: int) -> tuple[str, int] | None:
    """(host address, host port) publishing the container's port, if any."""
    binds = (container.get("ports") or {}).get(f"{port}/tcp") or []
    for bind in binds:
        if bind.get("host_port", "").isdigit():
            return bind.get("host_ip") or "0.0.0.0", int(bind["host_port"])  # noqa: S104 - docker's wildcard
    return None


def healthcheck(container: Mapping[str, Any]) -> dict[str, Any] | None:
    hc = container.get("healthcheck")
    if not hc or hc.get("test") == ["NONE"]:
        return None
    out: dict[str, Any] = {}
    for key in ("interval", "timeout", "start_period"):
        if hc.get(key) and DURATION.match(hc[key]):
            out[key] = hc[key]
    if isinstance(hc.get("retries"), int) and 1 <= hc["retries"] <= 100:  # noqa: PLR2004 - the spec's bounds
        out["retries"] = hc["retries"]
    return out


def restart_policy(ctx: ExportContext, container: Mapping[str, Any]) -> str:
    policy = container.get("restart_policy") or "no"
    if policy not in RESTART_POLICIES:
        ctx.note(
            f"{container['name']}: restart policy {policy!r} "
            "is not one the spec knows: unless-stopped"
        )
        return "unless-stopped"
    return str(policy)


def glob_segments(pattern: str, path: str) -> bool:
    """Go's filepath.Match as Prometheus uses it: '*' stays within one path segment."""
    from fnmatch import fnmatchcase  # noqa: PLC0415

    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(
        fnmatchcase(n, p) for p, n in zip(parts, names, strict=True)
    )


def variable_for(key: str) -> str:
    """An environment variable name for a key: vault.token -> VAULT_TOKEN."""
    name = re.sub(r"[^A-Z0-9_]", "_", key.upper()).strip("_") or "SECRET"
    return name if not name[0].isdigit() else f"_{name}"


def scrub_markers(ctx: ExportContext, value: Any, key: str = "SECRET") -> Any:
    """Every redaction marker left in spec data -> a ${VAR} reference (compose expands these
    in environment, labels and command alike), so the spec never holds a marker."""
    if isinstance(value, dict):
        return {k: scrub_markers(ctx, v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_markers(ctx, v, key) for v in value]
    if isinstance(value, str) and MARKER.search(value):
        name = variable_for(key)
        if value.startswith("-") and "=" in value:  # --flag=<redacted>
            flag, _, _ = value.partition("=")
            name = variable_for(flag.lstrip("-"))
            return f"{flag}={ctx.secret_env(name, f'flag {flag} holds a secret')}"
        return MARKER.sub(lambda _: ctx.secret_env(name, f"{key} holds a secret"), value)
    return value
