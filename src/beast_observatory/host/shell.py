"""The shell pieces that run on a host, and how they are run.

Every piece is a POSIX sh file in a ``scripts/`` folder beside the modules that use it
(``host/scripts/``, ``deploy/scripts/``), read with importlib.resources and run as
``sh -c SCRIPT NAME ARGS...``: values reach it as arguments or on stdin, never spliced into
its text, so a directory name with quotes or ``$(...)`` in it is only ever data. Each file
starts with a comment saying what it does and how it is called; tests/test_shell_scripts.py
runs shellcheck on all of them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from beast_observatory.host.transport.base import Command


@functools.cache
def _text(package: str, name: str) -> str:
    return (resources.files(package) / "scripts" / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class HostScript:
    """``scripts/NAME`` of ``package``: ``HostScript("beast_observatory.host", "files.sh")``."""

    package: str
    file: str

    @property
    def name(self) -> str:
        """What the script is called on the host (its ``$0``, in ``ps`` and in messages)."""
        return self.file.removesuffix(".sh")

    @property
    def text(self) -> str:
        return _text(self.package, self.file)

    def argv(self, *args: str) -> list[str]:
        return ["sh", "-c", self.text, self.name, *args]

    def command(self, *args: str, stdin: bytes | None = None, stops: bool = True) -> Command:
        return Command(tuple(self.argv(*args)), stdin, stops=stops)


def host_script(file: str) -> HostScript:
    return HostScript("beast_observatory.host", file)


def deploy_script(file: str) -> HostScript:
    return HostScript("beast_observatory.deploy", file)


def script_name(argv: tuple[str, ...] | list[str]) -> str | None:
    """The NAME of a ``sh -c SCRIPT NAME ...`` command line, else None."""
    if len(argv) >= 4 and argv[0] == "sh" and argv[1] == "-c":  # noqa: PLR2004 - sh -c S N
        return argv[3]
    return None
