"""Run the discovery probe on a host: ONE command through the transport, script on stdin."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from beast_observatory.host.probe.build import probe_script
from beast_observatory.host.probe.inventory import Inventory
from beast_observatory.host.probe.parse import parse_probe_output
from beast_observatory.host.transport.base import Transport

PROBE_TIMEOUT = 600.0


def probe_argv(
    dirs: Sequence[str] = (), project: str | None = None, expect: Mapping[str, str] | None = None
) -> list[str]:
    """`sh -s -- [--project P] --dir D ... [--expect "SHA256 PATH"] ...`: the script comes on
    stdin, so nothing is written to the host. With a project, only its containers are
    inspected in full; a file of a directory with the expected sha256 comes without content."""
    argv = ["sh", "-s", "--"]
    if project:
        argv += ["--project", project]
    for directory in dirs:
        argv += ["--dir", directory]
    for path, digest in sorted((expect or {}).items()):
        if "\n" not in path:
            argv += ["--expect", f"{digest} {path}"]
    return argv


@dataclass(frozen=True)
class ProbeRun:
    inventory: Inventory
    bytes_sent: int
    bytes_received: int
    round_trips: int
    seconds: float


def run_probe(
    transport: Transport,
    dirs: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    timeout: float = PROBE_TIMEOUT,
    project: str | None = None,
    expect: Mapping[str, str] | None = None,
) -> ProbeRun:
    """Probe the host; what cannot be read ends up in the inventory's problems, not raised.

    Only a transport failure (host unreachable, connection lost) raises TransportError."""
    script = probe_script()
    before = transport.round_trips
    start = time.monotonic()
    result = transport.run(
        probe_argv(dirs, project, expect), stdin=script, timeout=timeout, env=env
    )
    seconds = time.monotonic() - start
    inventory = parse_probe_output(
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
        result.exit_code,
    )
    return ProbeRun(
        inventory=inventory,
        bytes_sent=len(script),
        bytes_received=len(result.stdout) + len(result.stderr),
        round_trips=transport.round_trips - before,
        seconds=seconds,
    )


def probe_host(
    transport: Transport,
    dirs: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    project: str | None = None,
    expect: Mapping[str, str] | None = None,
) -> Inventory:
    """The inventory of the host (plan/apply pass their deploy directory in ``dirs``, and
    their compose project: only its containers are inspected in full; and the sha256 of the
    files they have, which then come without their content)."""
    return run_probe(transport, dirs, env=env, project=project, expect=expect).inventory
