"""Everything a host command needs, loaded once: spec, bundle, placement, transport."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from beast_observatory.bundle.build import output_root
from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import compile_project
from beast_observatory.bundle.write import check_tree, write_tree
from beast_observatory.deploy.target import ConnectOptions, Placement, placement
from beast_observatory.host.transport import open_transport
from beast_observatory.host.transport.base import Transport
from beast_observatory.host.transport.ssh import SshTransport
from beast_observatory.spec.load import Project, load_project
from beast_observatory.spec.resolve import Stack


@dataclass(frozen=True)
class HostSession:
    bundle: Bundle
    placement: Placement
    transport: Transport
    generated_dir: Path
    project: Project
    stack: Stack


@contextlib.contextmanager
def host_session(
    spec: Path | None,
    environment: str,
    out: Path | None,
    options: ConnectOptions,
    *,
    refresh: bool,
    echo: Callable[[str], object],
) -> Iterator[HostSession]:
    """Compile the environment; with refresh, rewrite generated/<env>/ when stale (like
    `terraform apply` computing its plan); connect (one connection per command), in the
    background while compiling."""
    project = load_project(spec)
    stack = project.stack(environment)
    where = placement(stack, options)
    transport = open_transport(where.target)
    try:
        if isinstance(transport, SshTransport):
            transport.connect_in_background()
        bundle = compile_project(project, [environment])[environment]
        generated_dir = output_root(out) / environment
        if refresh:
            files = bundle.with_manifest()
            if not check_tree(generated_dir, files).clean:
                write_tree(generated_dir, files)
                echo(f"{generated_dir}: was out of date, rebuilt from {project.path}")
        yield HostSession(bundle, where, transport, generated_dir, project, stack)
    finally:
        transport.close()
