"""The host's side of a backup: deploy/scripts/data-copy.sh, its commands and its answers.

``check`` says what each place holds (one round trip for all of them); a ``Copier`` streams
one part out of its place into the archive, or from the archive into its place, in a session
of its own. The services that write to a place are stopped for its copy only, and the script
starts them again whatever happens to us.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.deploy.backup.archive import ArchiveWriter, Progress
from beast_observatory.deploy.backup.data import DataPart
from beast_observatory.deploy.backup.manifest import Digest
from beast_observatory.errors import ObservatoryError, TransportError
from beast_observatory.host.shell import deploy_script
from beast_observatory.host.transport.base import (
    Command,
    CommandResult,
    RunningCommand,
    Transport,
)
from beast_observatory.names import COMPOSE_PROJECT, COMPOSE_VOLUME

DATA_COPY = deploy_script("data-copy.sh")
# A copy may print nothing for this long (services stopping, a slow disk) before it is stuck.
IDLE = 600.0
FINISH = 300.0  # after the last byte: unpacking, swapping in, starting the services again
_EXIT_HOLDS_DATA = 65
_EXIT_NOT_RESTARTED = 71
Echo = Callable[[str], object]


def said(result: CommandResult | None) -> str:
    if result is None:
        return "it did not run"
    text = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
    return text[-400:] or f"exit {result.exit_code}"


def check_command(image: str, parts: Iterable[DataPart]) -> Command:
    return DATA_COPY.command("check", image, *(p.source for p in parts), stops=False)


def parse_states(
    result: CommandResult | None, parts: tuple[DataPart, ...], where: str
) -> dict[str, str]:
    """source -> missing, empty or data, as check_command's answer says."""
    if result is None or not result.ok:
        raise ObservatoryError(
            f"cannot tell what the stack's volumes hold on {where}: {said(result)}",
            hint="check that Docker runs there and that the stack's images are on the host",
        )
    states = {}
    for line in result.text.splitlines():
        number, _, state = line.partition(" ")
        if number.isdigit() and 0 < int(number) <= len(parts):
            states[parts[int(number) - 1].source] = state
    unknown = [p.describe() for p in parts if p.source not in states]
    if unknown:
        raise ObservatoryError(f"no answer on {where} about {', '.join(unknown)}")
    not_dirs = [p.describe() for p in parts if states[p.source] == "notdir"]
    if not_dirs:
        raise ObservatoryError(
            f"on {where}, {', '.join(not_dirs)}: not a directory",
            hint="a service's data.path must be a directory on the host",
        )
    return states


def volume_command(part: DataPart, project: str) -> Command:
    """docker volume create for a volume the host lacks: with compose's labels, so that
    compose takes it as its own, and the driver, options and labels the compose file gives."""
    declared: Mapping[str, Any] = part.declared
    argv = ["docker", "volume", "create"]
    if not declared.get("external"):
        argv += ["--label", f"{COMPOSE_PROJECT}={project}"]
        argv += ["--label", f"{COMPOSE_VOLUME}={part.volume}"]
    labels = declared.get("labels") or {}
    pairs = (
        [(str(k), str(v)) for k, v in labels.items()]
        if isinstance(labels, Mapping)
        else [tuple(str(x).partition("=")[::2]) for x in labels]
    )
    for key, value in sorted(pairs):
        argv += ["--label", f"{key}={value}"]
    if declared.get("driver"):
        argv += ["--driver", str(declared["driver"])]
    for key, value in sorted((declared.get("driver_opts") or {}).items()):
        argv += ["--opt", f"{key}={value}"]
    return Command((*argv, part.source))


def size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:  # noqa: PLR2004
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _chunks(running: RunningCommand) -> Iterator[bytes]:
    while chunk := running.read(IDLE):
        yield chunk


@dataclass(frozen=True)
class Copier:
    """Copies parts of one compose project on one host, in the throwaway container of image."""

    host: Transport
    project: str
    image: str
    echo: Echo
    progress: Progress | None = None

    def out(self, part: DataPart, archive: ArchiveWriter) -> Digest:
        """The part's tar into the archive, its writers stopped meanwhile."""
        started = time.monotonic()
        argv = DATA_COPY.argv("out", self.project, self.image, part.source, *part.services)
        running = self.host.start(argv)
        try:
            digest = archive.add_stream(part.member, _chunks(running), self.progress)
        finally:
            # After an error (ours, or Ctrl-C) this closes the copy's stdin: the host ends
            # the copy and starts the services again at once.
            result = running.close(FINISH)
        if not result.ok:
            raise self._failed("backing up", part, result)
        stopped = f", {', '.join(part.services)} stopped meanwhile" if part.services else ""
        seconds = time.monotonic() - started
        self.echo(f"{part.describe()}: {size_text(digest.size)} in {seconds:.1f}s{stopped}")
        return digest

    def into(self, part: DataPart, chunks: Iterable[bytes], member: str, *, replace: bool) -> int:
        """A tar from the archive into the part's place, its writers stopped meanwhile; the
        bytes sent."""
        started = time.monotonic()
        flag = "1" if replace else "0"
        argv = DATA_COPY.argv("in", self.project, self.image, part.source, flag, *part.services)
        running = self.host.start(argv)
        ended: TransportError | None = None
        sent = 0
        try:
            for chunk in chunks:
                running.send(chunk)
                sent += len(chunk)
                if self.progress is not None:
                    self.progress(member, sent)
        except TransportError as exc:  # it ended early: its own message says why
            ended = exc
        finally:
            result = running.close(FINISH)
        if result.exit_code == _EXIT_HOLDS_DATA:
            raise ObservatoryError(
                f"{part.describe()} on {self.host.description} holds data: not replaced",
                hint="pass --replace to replace it",
            )
        if not result.ok:
            raise self._failed("restoring", part, result)
        if ended is not None:
            raise ended
        seconds = time.monotonic() - started
        self.echo(f"{part.describe()}: {size_text(sent)} restored in {seconds:.1f}s")
        return sent

    def _failed(self, doing: str, part: DataPart, result: CommandResult) -> ObservatoryError:
        where = self.host.description
        if result.exit_code == _EXIT_NOT_RESTARTED:
            return ObservatoryError(
                f"{doing} {part.describe()} on {where}: {said(result)}",
                hint="start the stack again: observatory up (or docker start those containers)",
            )
        return ObservatoryError(
            f"{doing} {part.describe()} failed on {where}: {said(result)}",
            hint="the services stopped for the copy were started again; nothing was kept of "
            "this attempt",
        )
