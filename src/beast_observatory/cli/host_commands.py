"""Commands that act on a host: up, down, status, logs."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from beast_observatory.deploy.target import ConnectOptions

from beast_observatory.cli.app import DEFAULT_SPEC, SpecOpt, app

EnvOpt = Annotated[str, typer.Option("--environment", "-e", help="Environment of the spec.")]
HostOpt = Annotated[
    str | None, typer.Option("--host", help="Host (or ~/.ssh/config alias) to act on.")
]
SshConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--ssh-config",
        help="ssh config file (default ~/.ssh/config).",
        envvar="OBSERVATORY_SSH_CONFIG",
    ),
]
KnownHostsOpt = Annotated[
    Path | None,
    typer.Option(
        "--known-hosts",
        help="known_hosts file (default ~/.ssh/known_hosts).",
        envvar="OBSERVATORY_KNOWN_HOSTS",
    ),
]
AcceptNewOpt = Annotated[
    bool,
    typer.Option(
        "--accept-new-host-key", help="Trust an unknown host key on first use and record it."
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Generated root (default ./generated).")]


def require_confirmation(auto_approve: bool, command: str, plan_command: str) -> None:
    """A command that asks before it changes a host: refused without a terminal to ask on,
    unless --auto-approve."""
    if auto_approve or sys.stdin.isatty():
        return
    from beast_observatory.errors import ObservatoryError  # noqa: PLC0415

    raise ObservatoryError(
        f"{command} needs confirmation and there is no terminal to ask on",
        hint=f"review `{plan_command}`, then pass --auto-approve",
    )


def connect_options(
    host: str | None, ssh_config: Path | None, known_hosts: Path | None, accept_new: bool
) -> ConnectOptions:
    from beast_observatory.deploy.target import ConnectOptions  # noqa: PLC0415

    return ConnectOptions(
        host=host, ssh_config=ssh_config, known_hosts=known_hosts, accept_new_host_key=accept_new
    )


@app.command()
def up(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every service to be healthy.")
    ] = 180.0,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Start the stack (rebuilding stale generated files); wait until every service is healthy."""
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=True, echo=typer.echo) as session:
        # Imported while the connection opens (host_session starts it).
        from beast_observatory.deploy.operations import format_status  # noqa: PLC0415
        from beast_observatory.deploy.operations import up as run_up  # noqa: PLC0415

        rows = run_up(
            session.transport, session.placement, session.bundle, timeout=timeout, echo=typer.echo
        )
    typer.echo(format_status(rows), nl=False)
    bad = [r.service for r in rows if not r.ok]
    if bad:
        typer.echo(
            f"error: not healthy after {timeout:.0f}s: {', '.join(bad)} "
            "(see `observatory status`, `observatory logs SERVICE`)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{environment}: {len(rows)} service(s) healthy")


@app.command()
def down(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also delete the data volumes (asks first).")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before deleting volumes.")
    ] = False,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Stop and remove the stack's containers; data volumes are kept unless --volumes."""
    from beast_observatory.deploy.operations import down as run_down  # noqa: PLC0415
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415
    from beast_observatory.errors import ObservatoryError  # noqa: PLC0415

    if volumes and not yes:
        if not sys.stdin.isatty():
            raise ObservatoryError(
                "--volumes deletes all data of the stack and needs confirmation", hint="pass --yes"
            )
        typer.confirm(
            f"Delete every data volume of {environment} (metrics, dashboards state)?", abort=True
        )
    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        run_down(session.transport, session.placement, session.bundle, volumes=volumes)
        where = session.placement.where
    typer.echo(
        f"{environment}: stopped on {where}"
        + (" and volumes deleted" if volumes else " (data volumes kept)")
    )


@app.command()
def status(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json")] = "text",
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Each service's state, health, uptime, image, ports and readiness. Exit 0 if all healthy."""
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        # Imported while the connection opens (host_session starts it).
        from beast_observatory.deploy.operations import StackView, format_status, gather_status  # noqa: PLC0415

        rows = gather_status(session.transport, StackView.of(session.bundle))
    if output == "json":
        doc = {
            "environment": environment,
            "healthy": all(r.ok for r in rows),
            "services": [{**asdict(r), "ok": r.ok} for r in rows],
        }
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(format_status(rows), nl=False)
    raise typer.Exit(0 if all(r.ok for r in rows) else 1)


@app.command()
def logs(
    service: Annotated[str | None, typer.Argument(help="One service (default: all).")] = None,
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep printing new lines.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", help="Lines from the end of each log.")
    ] = None,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Print the logs of the stack's services."""
    from beast_observatory.deploy.operations import logs as run_logs  # noqa: PLC0415
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    def write(data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        code = run_logs(
            session.transport,
            session.placement,
            session.bundle,
            service=service,
            tail=tail,
            follow=follow,
            write=write,
        )
    raise typer.Exit(code)
