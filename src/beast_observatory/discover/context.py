"""What every reader of a discovered service shares (pure): the inventory, the compose
project's own files, the side files written beside the spec, and the notes that tell the user
what was carried over how.

``ExportContext`` is handed to each kind's reader (``kinds/*/read.py``); the readers never look
at the host themselves.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.host.probe.inventory import (
    Container,
    FileRecord,
    Inventory,
    is_redacted,
)
from beast_observatory.names import COMPOSE_NETWORK, COMPOSE_PROJECT, COMPOSE_VOLUME
from beast_observatory.yamlio import YamlError, load_yaml

MARKER = re.compile(r"<redacted(?: sha256:([0-9a-f]{12}))?>")
_MARKER_WHOLE = re.compile(r"<redacted(?: sha256:[0-9a-f]{12})?>")  # no group: for re.split
REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}?$")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $VAR, and $$ (a dollar).
_VARIABLE = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)

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


def compose_literal(text: str) -> str:
    """A value the container got, as a compose file writes it: each `$` doubled (compose
    would read `$x` as a variable)."""
    return text.replace("$", "$$")


def other_flags(flags: Flags, owned: Iterable[str]) -> list[str]:
    """The flags a kind does not model, in their order, as `--name=value` written for
    compose (a literal `$` doubled)."""
    skip = set(owned)
    return [compose_literal(flag_text(n, v)) for n, v in flags if n not in skip]


def sanitize_name(value: str) -> str:
    """A spec Name (letters, digits, _.-; 63 at most) close to value."""
    out = re.sub(r"[^a-zA-Z0-9_.-]+", "-", value).strip("-_.")
    return (out or "unnamed")[:63]


def reference_name(value: object) -> str | None:
    """FOO for "${FOO}", "$FOO" or "${FOO:-x}"; None for anything else."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def variable_for(key: str) -> str:
    """An environment variable name for a key: vault.token -> VAULT_TOKEN."""
    name = re.sub(r"[^A-Z0-9_]", "_", key.upper()).strip("_") or "SECRET"
    return name if not name[0].isdigit() else f"_{name}"


def glob_segments(pattern: str, path: str) -> bool:
    """Go's filepath.Match as Prometheus uses it: '*' stays within one path segment."""
    from fnmatch import fnmatchcase  # noqa: PLC0415

    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(
        fnmatchcase(n, p) for p, n in zip(parts, names, strict=True)
    )


def env_mapping(raw: object) -> dict[str, str | None]:
    """A compose `environment` (mapping or list of NAME=value) as a mapping."""
    if isinstance(raw, Mapping):
        return {str(k): None if v is None else str(v) for k, v in raw.items()}
    out: dict[str, str | None] = {}
    for item in raw if isinstance(raw, list) else []:
        name, eq, value = str(item).partition("=")
        out[name] = value if eq else None
    return out


def dotenv(text: str) -> dict[str, str]:
    """A compose .env file: NAME=value lines (quotes removed), comments and blanks ignored."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":  # noqa: PLR2004
            value = value[1:-1]
        out[name.strip()] = value
    return out


@dataclass
class ExportContext:
    inventory: Inventory
    project: str | None
    containers: list[Container]
    compose: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)  # the project's .env, readable ones
    working_dir: str | None = None
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    local: dict[str, Any] = field(default_factory=dict)  # overrides of the `local` environment

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
                "with a reference to a file on the host (the *_file settings, e.g. "
                "password_file, smtp_auth_password_file), never with the secret itself"
            )
        stem, ext = posixpath.splitext(path)
        candidate, n = path, 2
        while candidate in self.files and self.files[candidate] != content.encode():
            candidate, n = f"{stem}-{n}{ext}", n + 1
        self.files[candidate] = content.encode()
        return candidate

    def files_of(self, container: Container) -> dict[str, FileRecord]:
        return self.inventory.files_of(container)

    def config_text(self, container: Container, path: str, what: str) -> str | None:
        """Content of a file the container sees at path, or None (with a note saying why)."""
        record = self.files_of(container).get(path)
        if record is None:
            self.note(f"{container.name}: {what} {path} was not found")
            return None
        if record.content is None:
            self.note(f"{container.name}: {what} {path} could not be read: {record.error}")
            return None
        return record.content

    def config_yaml(self, container: Container, path: str, what: str) -> Any:
        text = self.config_text(container, path, what)
        if text is None:
            return None
        try:
            return load_yaml(text, path)
        except YamlError as exc:
            self.note(f"{container.name}: {path}: {exc.message}")
            return None

    def fragment(self, container: Container) -> dict[str, Any] | None:
        """The container's service in its compose file, if the probe read that file."""
        found = self.compose.get(container.service) if container.service else None
        return dict(found) if isinstance(found, dict) else None

    def service_name(self, container: Container) -> str:
        return container.service or container.name

    def secret_env(self, name: str, why: str) -> str:
        """A compose reference ${NAME} for a secret whose value stays on the host."""
        self.secrets.add(name)
        self.note(f"{why}: set {name} in the .env file beside docker-compose.yml on the host")
        return f"${{{name}}}"

    def interpolate(self, value: str) -> str:
        """Compose's variable substitution with what the project's .env says; a variable it
        does not know (or holds a secret) stays a reference, to be set in the new .env."""

        def one(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$$"
            name = m.group(1) or m.group(4)
            op, default = m.group(2), m.group(3) or ""
            known = self.variables.get(name)
            if known is not None and not (op and op.startswith(":") and known == ""):
                return known
            if op in (":-", "-"):
                return default
            self.secrets.add(name)
            # ${NAME:?message} stays as written: compose still says what to set.
            return m.group(0) if op in (":?", "?") else f"${{{name}}}"

        return _VARIABLE.sub(one, value)

    def references(self, value: str) -> str:
        """value as it is (a default the probe redacted dropped: ``${NAME:-<redacted>}`` ->
        ``${NAME}``); the variables it names must be set in the host's new .env."""
        value = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-<redacted[^>]*>\}", r"${\1}", value)
        for m in _VARIABLE.finditer(value):
            if m.group(0) != "$$":
                self.secrets.add(m.group(1) or m.group(4))
        return value

    def interpolated(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.interpolate(value)
        if isinstance(value, list):
            return [self.interpolated(v) for v in value]
        if isinstance(value, dict):
            return {k: self.interpolated(v) for k, v in value.items()}
        return value

    # ------------------------------------------------------------- networks and volumes

    def network_key(self, real: str) -> str:
        """The spec key of a network the container is on (declaring it)."""
        net = self.inventory.network(real)
        labels = net.labels if net else {}
        if labels.get(COMPOSE_PROJECT) == self.project and labels.get(COMPOSE_NETWORK):
            key = str(labels[COMPOSE_NETWORK])
            entry: dict[str, Any] = {"driver": (net.driver if net else None) or "bridge"}
            if net is not None and net.internal:
                entry["internal"] = True
            if real != f"{self.project}_{key}":
                entry["name"] = real
            self.networks[key] = entry
            return key
        key = sanitize_name(real)
        self.networks[key] = {"external": True, "name": real}
        self.local.setdefault("networks", {})[key] = {"external": False, "name": None}
        return key

    def volume_key(self, real: str) -> str:
        """The spec key of a named volume (declaring it)."""
        vol = self.inventory.volume(real)
        labels = vol.labels if vol else {}
        if labels.get(COMPOSE_PROJECT) == self.project and labels.get(COMPOSE_VOLUME):
            key = str(labels[COMPOSE_VOLUME])
            entry: dict[str, Any] = {}
            if vol is not None and vol.driver not in (None, "local"):
                entry["driver"] = vol.driver
            if real != f"{self.project}_{key}":
                entry["name"] = real
            self.volumes.setdefault(key, entry)
            return key
        key = sanitize_name(real)
        self.volumes[key] = {"external": True, "name": real}
        self.local.setdefault("volumes", {})[key] = {"external": False, "name": None}
        self.note(
            f"volume {real} is not the project's own: the spec uses it as an external volume "
            "(the local environment makes its own)"
        )
        return key

    def secret_value(self, name: str, value: str | None, why: str) -> str:
        """An environment value for the spec: references kept, secrets made references."""
        if value is None:
            self.secrets.add(name)
            return f"${{{name}}}"
        if is_redacted(value):
            return self.secret_env(name, why)
        return value


def _fragment_variable(written: Any, index: int, flag: str) -> str | None:
    """The variable the compose file used for an argument: the one of the same flag
    (``--x=${NAME:-...}``), else the one at the same place."""
    args = [str(a) for a in written] if isinstance(written, list) else str(written or "").split()
    same = [a for a in args if flag and a.partition("=")[0] == flag]
    candidates = same or (args[index : index + 1] if index < len(args) else [])
    for arg in candidates:
        m = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", arg)
        if m:
            return m.group(1)
    return None


def scrub_args(ctx: ExportContext, args: list[str], written: Any, what: str) -> list[str]:
    """Arguments with every redacted secret made a reference (``${NAME}``, compose fills it
    from the host's .env): the variable the compose file used, else one named after the flag."""
    out = []
    for i, arg in enumerate(args):
        if not MARKER.search(arg):
            out.append(compose_literal(arg))
            continue
        flag, eq, _ = arg.partition("=")
        name = _fragment_variable(written, i, flag if eq else "") or variable_for(
            flag.lstrip("-") if eq else what
        )
        ref = ctx.secret_env(name, f"{what}: argument {flag if eq else i} holds a secret")
        out.append(ref.join(compose_literal(part) for part in _MARKER_WHOLE.split(arg)))
    return out


def scrub(ctx: ExportContext, value: Any, key: str = "SECRET") -> Any:
    """Every redaction marker left in spec data -> a ${VAR} reference, so the spec never holds
    a marker (compose fills references in environment, labels and commands alike)."""
    if isinstance(value, dict):
        return {k: scrub(ctx, v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(ctx, v, key) for v in value]
    if isinstance(value, str) and MARKER.search(value):
        name = variable_for(key)
        return MARKER.sub(lambda _m: ctx.secret_env(name, f"{key} holds a secret"), value)
    return value
