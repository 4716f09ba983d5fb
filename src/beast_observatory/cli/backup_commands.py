"""``observatory backup`` and ``observatory restore``: a stack's data into one archive and back."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from beast_observatory.cli.app import DEFAULT_SPEC, SpecOpt, app
from beast_observatory.cli.host_commands import (
    AcceptNewOpt,
    EnvOpt,
    HostOpt,
    KnownHostsOpt,
    OutOpt,
    SshConfigOpt,
    connect_options,
)


class _Terminal:
    """Messages on stdout; on a terminal, a byte counter on stderr for long copies."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._shown = 0.0
        self._width = 0
        self._member = ""
        self._started = 0.0

    def progress(self, member: str, done: int) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if member != self._member:
            self._member, self._started = member, now
        if now - self._shown < 0.2:  # noqa: PLR2004 - five updates a second are plenty
            return
        self._shown = now
        from beast_observatory.deploy.backup.copy import size_text  # noqa: PLC0415

        rate = done / max(now - self._started, 1e-3)
        text = f"  {member}: {size_text(done)} ({size_text(int(rate))}/s)"
        sys.stderr.write("\r" + text.ljust(self._width))
        sys.stderr.flush()
        self._width = len(text)

    def echo(self, message: str) -> None:
        if self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
            sys.stderr.flush()
            self._width = 0
        typer.echo(message)


@app.command()
def backup(
    output: Annotated[
        Path,
        typer.Option("--output", help="The archive to write (a tar); an existing file is refused."),
    ],
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Copy the stack's data into one archive: Prometheus' TSDB, Grafana's database,
    Alertmanager's silences and notification log, the Pushgateway's file, every other named
    volume, and the release's files (never .env), with a manifest of sha256 sums first.

    Each service is stopped while its own data is copied and started again right after
    (Prometheus misses the scrapes of that moment): stopped, it has written everything out
    and nothing changes under the copy. Prometheus' snapshot API would keep it running but
    needs --web.enable-admin-api, which lets anyone who reaches its port delete series; see
    docs/DEPLOYMENT.md. Runs under the host lock, like apply.
    """
    from beast_observatory.deploy.backup.copy import size_text  # noqa: PLC0415
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415
    from beast_observatory.errors import ObservatoryError  # noqa: PLC0415

    if output.exists() or output.is_symlink():
        raise ObservatoryError(
            f"{output} exists: a backup never overwrites a file",
            hint="give another --output, or remove that file first",
        )
    if not output.parent.is_dir():
        raise ObservatoryError(f"{output.parent}: no such directory", hint="create it first")
    terminal = _Terminal()
    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        from beast_observatory.deploy.backup.run import backup as run_backup  # noqa: PLC0415

        result = run_backup(
            session.transport,
            session.placement,
            session.bundle,
            session.stack,
            output,
            echo=terminal.echo,
            progress=terminal.progress,
        )
    manifest = result.manifest
    release = f"release {manifest.release_name}" if manifest.release_name else "live files"
    terminal.echo(
        f"{output}: {size_text(result.size)}, {len(manifest.parts)} data part(s) and "
        f"{len(manifest.files)} file(s) of the {release} of {environment}, in "
        f"{result.seconds:.1f}s"
    )


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="An archive `observatory backup` wrote.")],
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Replace data that is there (it is lost) instead of refusing."
        ),
    ] = False,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Put a backup's data into the environment's volumes (those of its own compose project:
    a backup of remote restores onto local too). The archive is checked first, its manifest
    and every sha256: a damaged one is refused before anything is written, and so is a volume
    that holds data, unless --replace. The services that use a volume are stopped while it is
    written and started again; parts the environment has no place for are left out. The
    release's files in the archive are not put back: the environment's come from its spec.
    """
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    terminal = _Terminal()
    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        from beast_observatory.deploy.backup.run import restore as run_restore  # noqa: PLC0415

        result = run_restore(
            session.transport,
            session.placement,
            session.bundle,
            session.stack,
            archive,
            replace_data=replace,
            echo=terminal.echo,
            progress=terminal.progress,
        )
        where = session.placement.where
    m = result.manifest
    terminal.echo(
        f"{environment} on {where}: {len(result.restored)} data part(s) restored from the backup "
        f"of {m.environment} on {m.host} ({m.created}) in {result.seconds:.1f}s; "
        f"`observatory up --environment {environment}` starts what is not running"
    )
