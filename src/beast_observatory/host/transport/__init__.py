"""Transports run commands and move files on a host: this machine or one reached over SSH.

The core never imports a transport implementation; commands pick one with ``open_transport``.
Importing this package does not import Fabric: the SSH transport loads it when it connects.
"""

from __future__ import annotations

from beast_observatory.host.transport.base import (
    CommandResult,
    HostTarget,
    RunningCommand,
    Transport,
)
from beast_observatory.host.transport.local import LocalTransport
from beast_observatory.host.transport.ssh import SshTransport

__all__ = ["CommandResult", "HostTarget", "RunningCommand", "Transport", "open_transport"]


def open_transport(target: HostTarget) -> Transport:
    """This machine when ``target.host`` is None, else the host over SSH (connected on first
    use; close it when done, e.g. ``with contextlib.closing(open_transport(target))``)."""
    if target.host is None:
        return LocalTransport()
    return SshTransport(target)
