"""The recording fake host of tests/deploy/fake_host.py, with data: volumes and host directories
as file trees, and the host's side of deploy/scripts/data-copy.sh (check, out, in) and of
``docker volume create``.

A copy is started as a session of its own (as the real transports do); ``out`` streams a tar of
the place in small chunks through ``read``, ``in`` collects what ``send`` gives it and unpacks
it at ``close``. The services a copy names are recorded as stopped and started again, as the
script does. Faults script a copy that fails (``copy out prometheus``: rc and stderr).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from beast_observatory.errors import TransportError
from beast_observatory.host.shell import script_name
from beast_observatory.host.transport.base import CommandResult
from deploy.fake_host import Call, FakeHost, ok, step_of

Tree = dict[str, bytes]  # relative path -> content


def tar_of(tree: Tree) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        root = tarfile.TarInfo(".")
        root.type, root.mode = tarfile.DIRTYPE, 0o750
        tar.addfile(root)
        for rel, data in sorted(tree.items()):
            info = tarfile.TarInfo(f"./{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def tree_of(data: bytes) -> Tree:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def data_step(argv: tuple[str, ...]) -> str | None:
    """``check``, ``copy out <source>``, ``copy in <source>``, ``create volume <name>``."""
    if script_name(argv) == "data-copy":
        op, args = argv[4], argv[5:]
        if op == "check":
            return "check"
        return f"copy {op} {args[2]}"
    if argv[:3] == ("docker", "volume", "create"):
        return f"create volume {argv[-1]}"
    return None


@dataclass
class DataHost(FakeHost):
    places: dict[str, Tree] = field(default_factory=dict)  # volume name or host path -> tree
    volume_labels: dict[str, list[str]] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)  # services, in the order they stopped
    started: list[str] = field(default_factory=list)
    chunk: int = 4096

    def record(self, argv: tuple[str, ...], stdin: bytes, *, locked: bool) -> Call:
        call = Call(argv, stdin, locked, data_step(argv) or step_of(argv))
        self.calls.append(call)
        return call

    def _play(self, call: Call, unhealthy: str | None = None) -> CommandResult:
        if call.step == "check":
            return ok(self._check(call.argv[6:]))
        if call.step.startswith("create volume "):
            name = call.argv[-1]
            self.places.setdefault(name, {})
            self.volume_labels[name] = [
                call.argv[i + 1] for i, a in enumerate(call.argv) if a == "--label"
            ]
            return ok()
        return super()._play(call, unhealthy)

    def _check(self, sources: Sequence[str]) -> str:
        lines = []
        for n, source in enumerate(sources, 1):
            tree = self.places.get(source)
            state = "missing" if tree is None else "data" if tree else "empty"
            lines.append(f"{n} {state}\n")
        return "".join(lines)

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> object:
        argv = tuple(argv)
        if script_name(argv) != "data-copy":
            return super().start(argv, env=env)
        self._check_connected()
        self.sessions += 1
        call = self.record(argv, b"", locked=False)
        return FakeCopy(self, call)


class FakeCopy:
    """One data-copy.sh out/in session."""

    def __init__(self, host: DataHost, call: Call) -> None:
        self.host = host
        self.call = call
        args = call.argv[4:]
        self.op = args[0]
        self.source = args[3]
        self.replace = args[4] == "1" if self.op == "in" else False
        self.services = list(args[5:] if self.op == "in" else args[4:])
        self.fault = host._fault(call.step)
        self.received = bytearray()
        self._out = b""
        if self.op == "out" and self.fault is None:
            self._out = tar_of(host.places[self.source])
        host.stopped += self.services

    def read(self, timeout: float) -> bytes:  # noqa: ARG002
        chunk, self._out = self._out[: self.host.chunk], self._out[self.host.chunk :]
        return chunk

    def read_line(self, timeout: float) -> bytes:  # noqa: ARG002
        raise AssertionError("a copy is read as a stream, not by lines")

    def send(self, data: bytes) -> None:
        if self.fault is not None:
            raise self.failure("send it input")
        self.received += data

    def failure(self, doing: str) -> TransportError:
        return TransportError(f"{self.host.description}: the copy ended while trying to {doing}")

    def close(self, timeout: float = 10.0) -> CommandResult:  # noqa: ARG002
        self.host.started += self.services
        if self.fault is not None:
            return CommandResult(self.call.argv, self.fault.rc, b"", self.fault.stderr.encode())
        if self.op == "in":
            place = self.host.places.setdefault(self.source, {})
            if place and not self.replace:
                return CommandResult(self.call.argv, 65, b"", b"it holds data: not replaced")
            self.host.places[self.source] = tree_of(bytes(self.received))
        return CommandResult(self.call.argv, 0, b"", b"")
