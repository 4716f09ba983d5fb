"""Where a stack keeps its data, read from its rendered docker-compose.yml (pure).

A backup holds one part per place: every named volume a service mounts (a known kind's data
volume, any other volume declared at the top level, extra services' volumes), and the host
directory a known kind keeps its data in when the spec gives it a ``path``. Configuration the
release mounts (``./prometheus``, shipped files) is no data, and neither are other host paths
(the Docker socket, /proc): those belong to the host. A kind's data part is named after the
kind (``prometheus``), any other volume after its compose key (``volume/<key>``), so that a
backup of one environment restores onto another whose volumes are named differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from beast_observatory.kinds.alertmanager.model import DATA_DIR as ALERTMANAGER_DATA
from beast_observatory.kinds.grafana.model import DATA_DIR as GRAFANA_DATA
from beast_observatory.kinds.prometheus.model import DATA_DIR as PROMETHEUS_DATA
from beast_observatory.kinds.pushgateway.model import DATA_DIR as PUSHGATEWAY_DATA
from beast_observatory.names import KIND_LABEL
from beast_observatory.spec.resolve import Stack

# Where each known kind keeps its data when the spec does not say (``data.target``).
KIND_DATA_DIRS = {
    "prometheus": PROMETHEUS_DATA,
    "pushgateway": PUSHGATEWAY_DATA,
    "grafana": GRAFANA_DATA,
    "alertmanager": ALERTMANAGER_DATA,
}
# Images whose upstream builds are busybox-based (sh and tar), in the order of preference for
# the throwaway container that copies the data; Grafana's is Alpine (busybox too).
HELPER_KINDS = ("prometheus", "pushgateway", "alertmanager", "node_exporter", "grafana")


@dataclass(frozen=True)
class DataPart:
    """One place holding data: a volume (by its real name) or a host directory."""

    id: str  # "prometheus" (a kind's data) or "volume/<key>"
    type: str  # "volume" or "path"
    source: str  # the volume's real name, or the absolute host path
    services: tuple[str, ...] = ()  # compose services that write to it
    kind: str | None = None
    volume: str | None = None  # the compose key of a named volume
    declared: Mapping[str, Any] = field(default_factory=dict)  # its top-level declaration

    @property
    def member(self) -> str:
        """Its tar in the archive."""
        return f"data/{self.id}.tar"

    def describe(self) -> str:
        where = f"volume {self.source}" if self.type == "volume" else f"directory {self.source}"
        return f"{self.id} ({where})"


@dataclass(frozen=True)
class StackData:
    project: str
    parts: tuple[DataPart, ...]
    notes: tuple[str, ...] = ()  # data no part holds (a container's own layer, anonymous)
    helper_image: str | None = None


def kind_data_dirs(stack: Stack) -> dict[str, str]:
    """Kind -> the directory in its container where it keeps data, for the enabled kinds."""
    out = {}
    for key in stack.enabled_kinds():
        if key in KIND_DATA_DIRS:
            data = stack.kind(key).data
            out[key] = (data.target if data and data.target else KIND_DATA_DIRS[key]).rstrip("/")
    return out


@dataclass(frozen=True)
class _Mount:
    type: str  # volume, bind, tmpfs...
    source: str  # as written: a volume's key or a path ("" for an anonymous volume)
    destination: str
    read_only: bool


def _mounts(service: Mapping[str, Any]) -> list[_Mount]:
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, Mapping):
            kind = str(entry.get("type") or "volume")
            source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
            read_only = bool(entry.get("read_only"))
        else:
            parts = str(entry).split(":")
            if len(parts) == 1:
                out.append(_Mount("volume", "", parts[0].rstrip("/"), read_only=False))
                continue
            source, target = parts[0], parts[1]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")  # noqa: PLR2004
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        out.append(_Mount(kind, source, target.rstrip("/") or "/", read_only))
    return out


def volume_name(key: str, project: str, declared: Any) -> str:
    """The name docker knows a declared volume by: ``name:``, an external one's key, else
    ``<project>_<key>``."""
    entry = declared if isinstance(declared, Mapping) else {}
    external = entry.get("external")
    if isinstance(external, Mapping) and external.get("name"):  # compose v1's form
        return str(external["name"])
    if entry.get("name"):
        return str(entry["name"])
    return key if external else f"{project}_{key}"


def _helper_image(services: Mapping[str, Any]) -> str | None:
    by_kind = {
        str((svc.get("labels") or {}).get(KIND_LABEL)): str(svc.get("image") or "")
        for svc in services.values()
        if isinstance(svc, Mapping) and isinstance(svc.get("labels"), Mapping)
    }
    return next((by_kind[k] for k in HELPER_KINDS if by_kind.get(k)), None)


class _Collector:
    """Parts by source, as the services' mounts name them."""

    def __init__(self, project: str, declared: Mapping[str, Any]) -> None:
        self.project = project
        self.declared = declared
        self.parts: dict[str, DataPart] = {}  # source -> part
        self.notes: list[str] = []

    def add(self, service: str, mount: _Mount, kind: str | None) -> None:
        if mount.type == "volume":
            raw = self.declared.get(mount.source)
            source = volume_name(mount.source, self.project, raw)
            declared = dict(raw) if isinstance(raw, Mapping) else {}
            part = DataPart(
                kind or f"volume/{mount.source}", "volume", source, (), kind, mount.source, declared
            )
        else:
            part = DataPart(str(kind), "path", mount.source, (), kind)
        known = self.parts.get(part.source, part)
        if known.kind is None and kind is not None:  # a kind's data: named after the kind
            known = replace(known, id=kind, kind=kind)
        if not mount.read_only and service not in known.services:
            known = replace(known, services=tuple(sorted((*known.services, service))))
        self.parts[part.source] = known


def stack_data(compose: Mapping[str, Any], project: str, data_dirs: Mapping[str, str]) -> StackData:
    """The data of a rendered compose file deployed as ``project``; data_dirs: where each
    known kind keeps its data (``kind_data_dirs``)."""
    services = compose.get("services") or {}
    declared = compose.get("volumes") or {}
    found = _Collector(project, declared)
    for name, service in sorted(services.items()):
        if not isinstance(service, Mapping):
            continue
        kind = (service.get("labels") or {}).get(KIND_LABEL)
        data_dir = data_dirs.get(str(kind)) if kind else None
        mounts = _mounts(service)
        for mount in mounts:
            at_data = data_dir is not None and mount.destination == data_dir
            if mount.type == "volume" and not mount.source:
                found.notes.append(
                    f"{name}: an anonymous volume at {mount.destination} is not backed up "
                    "(give it a name in the spec)"
                )
            elif mount.type == "volume" or (
                at_data and mount.type == "bind" and mount.source.startswith("/")
            ):
                found.add(name, mount, str(kind) if at_data else None)
        if data_dir is not None and not any(m.destination == data_dir for m in mounts):
            found.notes.append(
                f"{name}: its data ({data_dir}) is in the container's own layer (data: null): "
                "not backed up"
            )
    parts = tuple(sorted(found.parts.values(), key=lambda p: p.id))
    return StackData(project, parts, tuple(found.notes), _helper_image(services))


@dataclass(frozen=True)
class Placed:
    """A part of an archive and where it goes in the target stack."""

    archived: str  # the part's id in the archive
    target: DataPart


def place(archived: Sequence[str], target: StackData) -> tuple[list[Placed], list[str]]:
    """Where each archived part goes (the target's part of the same id), and what is not
    restored: parts the target has no place for, places the archive has nothing for."""
    by_id = {p.id: p for p in target.parts}
    placed = [Placed(i, by_id[i]) for i in archived if i in by_id]
    notes = [f"{i}: the target has no such data: not restored" for i in archived if i not in by_id]
    notes += [
        f"{p.describe()}: the archive has nothing for it: left as it is"
        for p in target.parts
        if p.id not in set(archived)
    ]
    return placed, notes
