"""Where a service's data lives, before and after an apply (pure).

A rendered compose service's volumes are resolved to what docker will mount (a named
volume's real name, a bind's host path) and compared with the running container's mounts.
A change of where data lives blocks apply unless the user says it may happen
(``--allow-data-move``): a volume or writable folder replaced by another one, or data kept
only in a container's own layer when the container is recreated.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.host.probe.inventory import Container

ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Planned:
    """One mount a compose service will get."""

    type: str  # bind, volume, tmpfs
    source: str  # host path, or a volume's real name ("" for an anonymous volume)
    destination: str
    read_only: bool

    def where(self) -> str:
        if self.type == "volume":
            return f"volume {self.source}" if self.source else "an anonymous volume"
        return f"{self.type} {self.source}" if self.source else self.type


def _volume_name(name: str, project: str, declared: Mapping[str, Any]) -> str:
    entry = declared.get(name)
    if isinstance(entry, dict) and entry.get("name"):
        return str(entry["name"])
    return f"{project}_{name}"


def planned_mounts(
    service: Mapping[str, Any], *, project: str, directory: str, declared: Mapping[str, Any]
) -> list[Planned]:
    """What docker will mount for a rendered compose service deployed in directory."""
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            kind = str(entry.get("type") or "volume")
            source = str(entry.get("source") or "")
            target = str(entry.get("target") or "")
            ro = bool(entry.get("read_only"))
        else:
            parts = str(entry).split(":")
            if len(parts) == 1:
                out.append(Planned("volume", "", parts[0], read_only=False))
                continue
            source, target = parts[0], parts[1]
            ro = len(parts) > 2 and "ro" in parts[2].split(",")  # noqa: PLR2004
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        if kind == "bind" and source.startswith("."):
            source = posixpath.normpath(posixpath.join(directory, source))
        elif kind == "volume" and source:
            source = _volume_name(source, project, declared)
        out.append(Planned(kind, source, target.rstrip("/") or "/", ro))
    return out


def _live_where(m: Any) -> str:
    if m.type == "volume":
        return f"volume {m.name}" if m.name else "an anonymous volume"
    return f"{m.type} {m.source}"


def _within(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def data_moves(
    live: Container,
    planned: list[Planned],
    *,
    directory: str,
    data_dir: str | None,
    recreated: bool,
) -> list[str]:
    """How the service's data would move: each is a reason apply refuses without
    --allow-data-move. Configuration the release mounts from the deploy directory (in place
    of the host's own files) is no data: the plan names it apart."""
    out = []
    by_dest = {p.destination: p for p in planned}
    release = [
        p.destination
        for p in planned
        if p.type == "bind" and _within(p.source, [directory.rstrip("/") or "/"])
    ]
    for m in live.mounts:
        dest = m.destination.rstrip("/") or "/"
        holds_data = m.type == "volume" or (m.type == "bind" and m.rw)
        if not holds_data or _within(dest, release):
            continue
        anonymous = m.type == "volume" and (not m.name or ANONYMOUS.match(m.name))
        new = by_dest.get(dest)
        if new is None:
            if anonymous:
                continue  # an anonymous volume: compose carries it over to the new container
            out.append(
                f"{dest}: the data in {_live_where(m)} is no longer mounted (it stays where it "
                "is, unused)"
            )
            continue
        same = (m.type == new.type) and (
            (m.type == "volume" and (m.name or "") == new.source) or m.source == new.source
        )
        if not same and not (anonymous and not new.source):
            out.append(f"{dest}: data moves from {_live_where(m)} to {new.where()}")
    # A volume planned there from now on starts without it: the layer's data is lost too.
    if recreated and data_dir and live.mount_at(data_dir) is None:
        out.append(
            f"{data_dir}: its data is in the container's own layer and is lost when the "
            "container is recreated (copy it out first, or accept the loss)"
        )
    return out
