"""The inventory: what the probe saw on a host, as typed values (docs/ARCHITECTURE.md).

Plan, verify, export and the report read these fields; ``inventory.json`` is their JSON form
(``to_json``/``from_json``), sorted where order means nothing so that two probes of an
unchanged host give the same file. Secrets were redacted on the host, before anything was
sent: values read ``<redacted sha256:XXXXXXXXXXXX>``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.names import COMPOSE_PROJECT, COMPOSE_SERVICE

PROBE_VERSION = 2
REDACTED = re.compile(r"^<redacted(?: sha256:([0-9a-f]{12}))?>$")


def is_redacted(value: object) -> bool:
    return isinstance(value, str) and bool(REDACTED.match(value))


@dataclass(frozen=True)
class FileRecord:
    """A file the probe looked at: its content (UTF-8 text, secrets redacted) or why not."""

    host_path: str = ""  # where it is on the host ("" for a file copied out of a container)
    sha256: str | None = None
    size: int | None = None
    content: str | None = None
    error: str | None = None
    copied: bool = False  # read from inside the container (docker cp), not through a mount
    # The sha256 the caller expected (probe --expect): the content was not sent, the caller
    # has it (Inventory.with_expected_content puts it in).
    expected: bool = False


@dataclass(frozen=True)
class Mount:
    type: str  # bind, volume, tmpfs
    source: str
    destination: str
    rw: bool = True
    name: str | None = None  # a volume's name
    propagation: str = ""  # rprivate (docker's default for binds), rslave, shared...


@dataclass(frozen=True)
class Attachment:
    """A container's place on one network."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str = ""


@dataclass(frozen=True)
class Binding:
    host_ip: str
    host_port: str


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: str | None = None
    timeout: str | None = None
    start_period: str | None = None
    retries: int | None = None


@dataclass(frozen=True)
class State:
    status: str | None = None
    health: str | None = None
    started_at: str | None = None
    pid: int | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image: str
    image_id: str = ""
    repo_digests: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    ports: dict[str, tuple[Binding, ...]] = field(default_factory=dict)  # "9090/tcp" -> bindings
    networks: tuple[Attachment, ...] = ()
    restart_policy: str = "no"
    restart_max: int = 0
    healthcheck: Healthcheck | None = None
    user: str = ""
    state: State = State()
    config: dict[str, Any] = field(default_factory=dict)  # Config: hostname, working_dir...
    host_config: dict[str, Any] = field(default_factory=dict)  # HostConfig: cap_add, pid_mode...
    log_options: dict[str, str] = field(default_factory=dict)

    @property
    def project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT) or None

    @property
    def service(self) -> str | None:
        return self.labels.get(COMPOSE_SERVICE) or None

    @property
    def network_names(self) -> list[str]:
        return sorted(a.network for a in self.networks)

    def mount_at(self, destination: str) -> Mount | None:
        want = destination.rstrip("/") or "/"
        return next((m for m in self.mounts if (m.destination.rstrip("/") or "/") == want), None)

    def host_path(self, path: str) -> str | None:
        """The host path of a file the container sees at path (through a bind mount)."""
        for mount in sorted(self.mounts, key=lambda m: -len(m.destination)):
            dest = mount.destination.rstrip("/")
            if mount.type == "bind" and (path == dest or path.startswith(dest + "/")):
                return mount.source.rstrip("/") + path[len(dest) :]
        return None


@dataclass(frozen=True)
class Image:
    id: str
    repo_digests: tuple[str, ...] = ()
    repo_tags: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    working_dir: str = ""
    exposed: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    stop_signal: str = ""


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    mountpoint: str | None = None


@dataclass(frozen=True)
class Network:
    name: str
    driver: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    internal: bool | None = None


@dataclass(frozen=True)
class ComposeProject:
    name: str
    working_dir: str | None = None
    config_files: tuple[str, ...] = ()
    files: dict[str, FileRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class Docker:
    available: bool = False
    server_version: str | None = None
    compose_plugin: str | None = None
    compose_standalone: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any = None


@dataclass(frozen=True)
class Host:
    hostname: str = ""
    kernel: str = ""


@dataclass(frozen=True)
class Inventory:
    probe_version: int = PROBE_VERSION
    # The probe of plan and apply found the project managed (our manifest.json in its deploy
    # directory): its files were read there only - no container's configuration, no API but
    # Prometheus' targets. What export and takeover read is then absent, not empty.
    managed: bool = False
    host: Host = Host()
    docker: Docker = Docker()
    containers: tuple[Container, ...] = ()
    images: dict[str, Image] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    networks: tuple[Network, ...] = ()
    compose_projects: tuple[ComposeProject, ...] = ()
    # container name -> path -> file
    config_files: dict[str, dict[str, FileRecord]] = field(default_factory=dict)
    # deploy directory -> path -> file
    directories: dict[str, dict[str, FileRecord]] = field(default_factory=dict)
    apis: dict[str, dict[str, ApiAnswer]] = field(default_factory=dict)  # container name -> path
    problems: tuple[str, ...] = ()
    # Containers of other projects, by name only (a probe of one project inspects no more).
    other_containers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        from pydantic import TypeAdapter  # noqa: PLC0415 - only inventory.json needs it

        data: dict[str, Any] = TypeAdapter(Inventory).dump_python(self, mode="json")
        return data

    @classmethod
    def from_json(cls, data: Any) -> Inventory:
        """An inventory.json read back; raises ValueError when it is not one."""
        from pydantic import TypeAdapter, ValidationError  # noqa: PLC0415

        try:
            return TypeAdapter(Inventory).validate_python(data)
        except ValidationError as exc:
            raise ValueError(str(exc).splitlines()[0]) from None

    def project(self, name: str | None) -> list[Container]:
        return [c for c in self.containers if c.project == name]

    def image_of(self, container: Container) -> Image:
        return self.images.get(container.image_id) or Image(container.image_id)

    def volume(self, name: str) -> Volume | None:
        return next((v for v in self.volumes if v.name == name), None)

    def network(self, name: str) -> Network | None:
        return next((n for n in self.networks if n.name == name), None)

    def files_of(self, container: Container) -> dict[str, FileRecord]:
        return dict(self.config_files.get(container.name) or {})

    def api(self, container: Container, path: str) -> ApiAnswer | None:
        return (self.apis.get(container.name) or {}).get(path)

    def deploy_files(self, directory: str) -> dict[str, FileRecord]:
        return dict(self.directories.get(directory) or {})

    def with_expected_content(self, directory: str, files: Mapping[str, bytes]) -> Inventory:
        """This inventory with the content of directory's files that came without it, being
        what the caller expected: files' (UTF-8) bytes, where the sha256 vouches for them."""
        records = dict(self.directories.get(directory) or {})
        for path, record in records.items():
            if record.expected and path in files and record.content is None:
                try:
                    text = files[path].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                records[path] = dataclasses.replace(record, content=text)
        return dataclasses.replace(self, directories={**self.directories, directory: records})

    def file_errors(self) -> Iterator[tuple[str, str, str]]:
        """(where, path, why) of every file the probe could not read."""
        for owner, files in self.config_files.items():
            yield from ((f"container {owner}", p, r.error) for p, r in files.items() if r.error)
        for project in self.compose_projects:
            yield from (
                (f"compose project {project.name}", p, r.error)
                for p, r in project.files.items()
                if r.error
            )
        for directory, files in self.directories.items():
            yield from ((f"directory {directory}", p, r.error) for p, r in files.items() if r.error)
