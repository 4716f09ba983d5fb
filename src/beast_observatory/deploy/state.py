"""state.json in the deploy directory: what the host runs, as the last ``up`` or verified
``apply`` recorded it. This module is its only writer, and it has one shape:

    {"release": "0007-3f9c2a1b4d5e", "spec_sha256": "..."}

``release`` is the release the live files are (null after an ``up`` changed them: ``up`` syncs
the live files directly, not through a release). plan reads ``spec_sha256``: files switched to
a spec whose apply never recorded its state are an apply that did not finish.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass

from beast_observatory.host.files import check_done, write_command
from beast_observatory.host.transport.base import Command, Transport

STATE = "state.json"


@dataclass(frozen=True)
class DeployState:
    spec_sha256: str
    release: str | None = None

    def to_bytes(self) -> bytes:
        doc = {"release": self.release, "spec_sha256": self.spec_sha256}
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def parse(cls, data: bytes | None) -> DeployState | None:
        """A state.json as read from the host (None: missing or not one of ours)."""
        try:
            doc = json.loads(data or b"")
            spec, release = doc["spec_sha256"], doc.get("release")
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if not isinstance(spec, str) or not isinstance(release, str | None):
            return None
        return cls(spec, release)


def state_path(directory: str) -> str:
    return posixpath.join(directory, STATE)


def state_command(directory: str, state: DeployState) -> Command:
    return write_command(state_path(directory), state.to_bytes())


def forget_command(directory: str) -> Command:
    """state.json removed: the host runs nothing this tool applied (a takeover undone)."""
    return Command(("rm", "-f", "--", state_path(directory)))


def record_state(
    transport: Transport, directory: str, state: DeployState, current: bytes | None
) -> bool:
    """Write state.json unless it already says this (an unchanged host is not written to)."""
    if current == state.to_bytes():
        return False
    result = transport.run_batch([state_command(directory, state)])[0]
    check_done(result, transport, "write", state_path(directory))
    return True
