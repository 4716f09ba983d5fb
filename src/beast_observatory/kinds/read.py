"""A running container read back as the fields every service has (pure): the inverse of
``kinds/service.py`` (known kinds) and of ``kinds/extra/render.py`` (the rest).

What the container runs is the truth (``docker inspect``); the compose file that made it
gives what inspect cannot say: variable references, depends_on, the author's names.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.discover.context import MARKER, ExportContext, env_mapping, sanitize_name
from beast_observatory.host.probe.inventory import Container, Mount, is_redacted
from beast_observatory.secret_rules import is_secret_name

# Mounts that belong to the host's own plumbing: always kept as host paths.
SYSTEM_PATH = re.compile(r"^/(proc|sys|dev|run|var/run|etc/localtime|etc/timezone)(/|$)|^/$")
ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")
RUNTIME_ENV_PREFIX = "OBSERVATORY_"


@dataclass(frozen=True)
class KindFacts:
    """What a known kind's reader tells the common reader about a container."""

    key: str
    default_name: str
    container_port: int
    data_dir: str | None = None  # where it keeps data inside the container
    default_data_dir: str | None = None
    consumed: tuple[str, ...] = ()  # container paths whose files the kind's config carries
    owned_env: frozenset[str] = frozenset()
    drop_env: frozenset[str] = frozenset()  # the image's or the tool's own (GF_PATHS_*)


@dataclass
class Volumes:
    """A service's mounts in compose syntax, and the local environment's variant of them."""

    entries: list[str | dict[str, Any]] = field(default_factory=list)
    local: list[str | dict[str, Any]] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return self.entries != self.local


# ----------------------------------------------------------------- ports and restart


def _address(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def port_entries(c: Container) -> list[str]:
    out = []
    for port, binds in sorted(c.ports.items()):
        number, _, proto = port.partition("/")
        suffix = "" if proto in ("", "tcp") else f"/{proto}"
        for b in binds:
            host = f"{_address(b.host_ip)}:" if b.host_ip else ""
            out.append(f"{host}{b.host_port}:{number}{suffix}")
    return out


def ports_fields(c: Container, container_port: int, bind_address: str) -> dict[str, Any]:
    """port/bind_address when the container publishes its one port once; else `ports`."""
    binds = c.ports.get(f"{container_port}/tcp") or ()
    if not c.ports:
        return {"publish": False}
    if len(c.ports) == 1 and len(binds) == 1 and binds[0].host_port.isdigit():
        out: dict[str, Any] = {"port": int(binds[0].host_port)}
        if binds[0].host_ip != bind_address:
            out["bind_address"] = binds[0].host_ip
        return out
    return {"ports": port_entries(c)}


def restart(c: Container) -> str:
    policy = c.restart_policy or "no"
    if policy == "on-failure" and c.restart_max:
        return f"on-failure:{c.restart_max}"
    return policy


def healthcheck(c: Container) -> dict[str, Any] | None:
    hc = c.healthcheck
    if hc is None:
        return None
    if list(hc.test) == ["NONE"]:
        return {"disable": True}
    out: dict[str, Any] = {"test": list(hc.test)}
    for key in ("interval", "timeout", "start_period"):
        if getattr(hc, key):
            out[key] = getattr(hc, key)
    if hc.retries:
        out["retries"] = hc.retries
    return out


# ----------------------------------------------------------------- environment


def environment(ctx: ExportContext, c: Container, facts: KindFacts | None) -> dict[str, str]:
    """The variables the service sets (environment and env_file), not the image's: as the
    compose file wrote them where it used a variable, secrets as references to the host's
    .env (never their value)."""
    image_env = ctx.inventory.image_of(c).env
    written = env_mapping((ctx.fragment(c) or {}).get("environment"))
    skip = (facts.owned_env | facts.drop_env) if facts else frozenset()
    out: dict[str, str] = {}
    for name, live in sorted(c.env.items()):
        if name in skip or (image_env.get(name) == live and name not in written):
            continue
        if name.startswith(RUNTIME_ENV_PREFIX):  # the tool's entrypoint's own (kinds/entrypoint.py)
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            ctx.note(f"{c.name}: environment variable {name!r} is not a name the spec accepts")
            continue
        source = written.get(name)
        if source is not None and "$" in source:
            # Written with a variable: a secret keeps its reference (the new .env sets it),
            # anything else is what the variable said.
            out[name] = ctx.references(source) if is_secret_name(name) else ctx.interpolate(source)
        elif is_redacted(live):
            out[name] = ctx.secret_env(name, f"{c.name}: {name} holds a secret")
        else:
            out[name] = live
    return out


# ----------------------------------------------------------------- mounts


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _same_path(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _spec_path(ctx: ExportContext, service: str, source: str) -> str:
    """Where a captured file or folder goes beside the spec: the author's layout when it was
    under the compose project's folder, else <service>/<name>."""
    wd = (ctx.working_dir or "").rstrip("/")
    if wd and source.startswith(wd + "/"):
        return source[len(wd) + 1 :]
    return f"{sanitize_name(service)}/{posixpath.basename(source.rstrip('/')) or 'root'}"


PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def _written_propagation(ctx: ExportContext, c: Container, m: Mount) -> str | None:
    """The propagation the compose file asked for at the mount's destination, if any: the
    engine reports one for every bind (rslave for /, whatever was asked), and writing it
    where the author did not is not the same (these hosts refuse rslave on /)."""
    for entry in (ctx.fragment(c) or {}).get("volumes") or []:
        if isinstance(entry, str):
            parts = entry.split(":")
            if len(parts) >= 3 and parts[1].rstrip("/") == m.destination.rstrip("/"):  # noqa: PLR2004
                found = [o for o in parts[2].split(",") if o in PROPAGATIONS]
                return found[0] if found else None
        elif isinstance(entry, dict) and _same_path(str(entry.get("target", "")), m.destination):
            bind = entry.get("bind") or {}
            return (
                str(bind["propagation"])
                if isinstance(bind, dict) and bind.get("propagation")
                else None
            )
    return None


def _mode(ctx: ExportContext, c: Container, m: Mount) -> str:
    options = [] if m.rw else ["ro"]
    if m.type == "bind" and (propagation := _written_propagation(ctx, c, m)):
        options.append(propagation)
    return (":" + ",".join(options)) if options else ""


def _whole(content: str | None) -> bool:
    return content is not None and not MARKER.search(content)


def _captured(ctx: ExportContext, c: Container, m: Mount, service: str) -> str | None:
    """Capture a bind-mounted file or read-only folder the probe read; its spec path. Not
    one the probe could not read whole, or read with a secret redacted: a copy would not do
    what the host's file does."""
    files = ctx.files_of(c)
    dest = m.destination.rstrip("/")
    record = files.get(dest)
    if record is not None:
        if not _whole(record.content):
            return None
        return ctx.add_file(_spec_path(ctx, service, m.source), str(record.content))
    inside = {p: r for p, r in files.items() if p.startswith(dest + "/")}
    if not inside or m.rw or not all(_whole(r.content) for r in inside.values()):
        return None
    base = _spec_path(ctx, service, m.source)
    for path, r in sorted(inside.items()):
        ctx.add_file(f"{base}/{path[len(dest) + 1 :]}", str(r.content))
    return base


def _volume_entry(ctx: ExportContext, c: Container, m: Mount, mode: str) -> Any:
    dest = m.destination
    if m.type == "tmpfs":
        return {"type": "tmpfs", "target": dest}
    if not m.name or ANONYMOUS.match(m.name):
        return None if dest in ctx.inventory.image_of(c).volumes else dest
    return f"{ctx.volume_key(m.name)}:{dest}{mode}"


def _stays_on_host(ctx: ExportContext, c: Container, m: Mount) -> bool:
    """A bind mount kept as the same host path everywhere (noted): a file the probe could not
    read (a secret, a binary file), or a read-only path it did not read."""
    dest = m.destination
    record = ctx.files_of(c).get(dest.rstrip("/"))
    if record is not None:
        why = record.error or "it holds a secret"
        ctx.note(
            f"{c.name}: {m.source} (at {dest}) stays a file on the host ({why}); "
            "on another host put it at the same path"
        )
        return True
    if not m.rw:
        ctx.note(f"{c.name}: {m.source} (at {dest}) stays a path on the host")
        return True
    return False


def mount_entry(ctx: ExportContext, c: Container, m: Mount, service: str) -> tuple[Any, Any]:
    """(compose entry, the local environment's entry) of one mount; (None, None) to leave
    it out (an anonymous volume the image declares)."""
    dest, mode = m.destination, _mode(ctx, c, m)
    if m.type in ("volume", "tmpfs"):
        entry = _volume_entry(ctx, c, m, mode)
        return entry, entry
    if m.type != "bind":
        ctx.note(f"{c.name}: a {m.type} mount at {dest} is not carried over")
        return None, None
    if not SYSTEM_PATH.match(m.source) and (captured := _captured(ctx, c, m, service)):
        entry = f"./{captured}:{dest}{mode}"
        return entry, entry
    host = f"{m.source}:{dest}{mode}"
    if SYSTEM_PATH.match(m.source) or _stays_on_host(ctx, c, m):
        return host, host
    ctx.note(f"{c.name}: {m.source} (at {dest}) is data: it stays where it is on the host")
    local = f"{sanitize_name(service)}-{sanitize_name(posixpath.basename(m.source))}"
    ctx.local.setdefault("volumes", {})[local] = {}
    return host, f"{local}:{dest}{mode}"


def volumes(ctx: ExportContext, c: Container, service: str, skip: Iterable[str]) -> Volumes:
    """Every mount but those under skip (the kind's config and data)."""
    out = Volumes()
    roots = list(skip)
    files = ctx.files_of(c)
    for m in c.mounts:
        if under(m.destination, roots) or any(under(r, [m.destination]) for r in roots):
            record = files.get(m.destination.rstrip("/"))
            kept = m.type == "bind" and record is not None and record.content is None
            if not kept:
                continue  # the kind's configuration carries it
            # a file the kind cannot carry (a secret, never read): it stays on the host
            ctx.note(f"{c.name}: {m.source} (at {m.destination}) stays a file on the host")
            entry = f"{m.source}:{m.destination}{_mode(ctx, c, m)}"
            out.entries.append(entry)
            out.local.append(entry)
            continue
        entry, local = mount_entry(ctx, c, m, service)
        if entry is not None:
            out.entries.append(entry)
            out.local.append(local)
    return out


def data_store(ctx: ExportContext, c: Container, facts: KindFacts) -> dict[str, Any] | None:
    """{volume} or {path} of the mount holding the kind's data; None: no mount (the
    container's own layer, or an anonymous volume of the image)."""
    if facts.data_dir is None:
        return None
    m = c.mount_at(facts.data_dir)
    target = {"target": facts.data_dir} if facts.data_dir != facts.default_data_dir else {}
    if m is None or (m.type == "volume" and (not m.name or ANONYMOUS.match(m.name))):
        where = "an anonymous volume" if m is not None else "the container's own layer"
        ctx.note(
            f"{c.name}: its data ({facts.data_dir}) is in {where}: recreating the "
            "container keeps it only as compose keeps anonymous volumes"
            if m is not None
            else f"{c.name}: its data ({facts.data_dir}) is in {where}: it is lost when the "
            "container is recreated (give it a volume: data.volume)"
        )
        return None
    if m.type == "bind":
        service = ctx.service_name(c)
        volume = f"{sanitize_name(service)}-data"
        ctx.local.setdefault("services", {}).setdefault(facts.key, {})["data"] = {
            "volume": volume,
            **target,
        }
        return {"path": m.source, **target}
    return {"volume": ctx.volume_key(str(m.name)), **target}


# ----------------------------------------------------------------- networks


def _automatic_aliases(ctx: ExportContext, c: Container) -> set[str]:
    return {ctx.service_name(c), c.name, c.id[:12]}


def networks(ctx: ExportContext, c: Container) -> tuple[Any, str | None]:
    """(networks, network_mode): compose's list or mapping (with aliases and fixed
    addresses), or a network mode (host, none, service:x, container:x)."""
    mode = str(c.host_config.get("network_mode") or "")
    if mode in ("host", "none"):
        return None, mode
    if mode.startswith("container:"):
        target = mode.split(":", 1)[1]
        other = next((o for o in ctx.inventory.containers if o.id.startswith(target)), None)
        if other is not None and other.project == ctx.project and other.service:
            return None, f"service:{other.service}"
        return None, f"container:{other.name if other else target}"
    if [a.network for a in c.networks] == ["bridge"]:
        return None, "bridge"
    auto = _automatic_aliases(ctx, c)
    attachments: dict[str, Any] = {}
    for a in c.networks:
        key = ctx.network_key(a.network)
        entry: dict[str, Any] = {}
        aliases = sorted(set(a.aliases) - auto)
        if aliases:
            entry["aliases"] = aliases
        if a.ipv4_address:
            entry["ipv4_address"] = a.ipv4_address
        attachments[key] = entry or None
    if all(v is None for v in attachments.values()):
        return sorted(attachments), None
    return dict(sorted(attachments.items())), None
