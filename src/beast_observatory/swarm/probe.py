"""What a Swarm manager runs of a stack, in one round trip (swarm/scripts/probe.sh), and its
answer parsed into ``Observed`` (the parser is pure)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.deploy.observed import Deployed, live_release, manifest_files
from beast_observatory.errors import RuntimeFailure
from beast_observatory.host.compose import docker_problem
from beast_observatory.host.probe.inventory import FileRecord
from beast_observatory.host.shell import HostScript
from beast_observatory.host.transport.base import Command, CommandResult
from beast_observatory.names import MANIFEST

MARK = "@@observatory-swarm@@ "


def swarm_script(file: str) -> HostScript:
    return HostScript("beast_observatory.swarm", file)


PROBE = swarm_script("probe.sh")
SECRETS = swarm_script("secrets.sh")


@dataclass(frozen=True)
class Observed:
    """A stack on a Swarm manager, as the probe saw it."""

    swarm: Mapping[str, Any]  # docker info's Swarm section
    nodes: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)  # docker service inspect
    tasks: list[dict[str, Any]] = field(default_factory=list)  # running ones
    configs: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    secret_names: dict[str, str] = field(default_factory=dict)  # key -> name it would have
    env_names: frozenset[str] | None = None  # variables the .env sets (None: no .env)
    files: dict[str, FileRecord] = field(default_factory=dict)  # deploy directory

    @property
    def is_manager(self) -> bool:
        return self.swarm.get("LocalNodeState") == "active" and bool(
            self.swarm.get("ControlAvailable")
        )

    def deployed(self, directory: str) -> Deployed:
        hashes = {p: r.sha256 for p, r in self.files.items() if r.sha256}
        manifest = self.files.get(MANIFEST)
        return Deployed(
            directory,
            hashes,
            manifest_files(manifest.content if manifest else None),
            live_release(directory, hashes),
        )

    def running_tasks(self, service: str) -> int:
        return sum(1 for t in self.tasks if str(t.get("Name", "")).startswith(f"{service}."))


def probe_command(project: str, directory: str, secret_args: list[str]) -> Command:
    return PROBE.command(project, directory, SECRETS.text, *secret_args, stops=False)


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(MARK):
            name = line[len(MARK) :]
            current = out.setdefault(name if not name.startswith("file ") else "files", [])
            if name.startswith("file "):
                current.append(line)
            continue
        if current is not None:
            current.append(line)
    return out


def _json_lines(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _files(lines: list[str]) -> dict[str, FileRecord]:
    out: dict[str, FileRecord] = {}
    path: str | None = None
    sha: str | None = None
    size: int | None = None
    body: list[str] = []

    def close() -> None:
        if path is None:
            return
        content = None
        if body:
            try:
                content = base64.b64decode("".join(body)).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                content = None
        out[path] = FileRecord(host_path=path, sha256=sha, size=size, content=content)

    for line in lines:
        if line.startswith(MARK + "file "):
            close()
            _, _, sha, size_text, path = line.split(" ", 4)
            size, body = int(size_text), []
        elif line.strip():
            body.append(line.strip())
    close()
    return out


def parse_probe(result: CommandResult | None, where: str) -> Observed:
    if result is None:
        raise RuntimeFailure(f"the Swarm manager {where} did not answer the probe")
    sections = _sections(result.text)
    swarm_text = "\n".join(sections.get("swarm", [])).strip()
    try:
        swarm = json.loads(swarm_text)
    except ValueError:
        raise docker_problem(swarm_text, where) or RuntimeFailure(
            f"could not ask Docker on {where} about its swarm: {swarm_text[:300]}"
        ) from None
    try:
        services = json.loads("\n".join(sections.get("services", [])) or "[]")
    except ValueError:
        services = []
    names = {}
    for line in sections.get("secret-names", []):
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == "name":  # noqa: PLR2004 - name KEY NAME
            names[parts[1]] = parts[2]
    env = sections.get("env")
    return Observed(
        swarm=swarm if isinstance(swarm, dict) else {},
        nodes=_json_lines(sections.get("nodes", [])),
        services=services if isinstance(services, list) else [],
        tasks=_json_lines(sections.get("tasks", [])),
        configs=frozenset(line for line in sections.get("configs", []) if line),
        secrets=frozenset(line for line in sections.get("secrets", []) if line),
        secret_names=names,
        env_names=frozenset(n for n in env if n) if env is not None and any(env) else None,
        files=_files(sections.get("files", [])),
    )
