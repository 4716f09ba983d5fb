"""``observatory secrets set|list``: the host's .env without a shell on the host."""

from __future__ import annotations

import sys
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

secrets_app = typer.Typer(
    help="Set and list the secrets a stack reads from its host's .env.", no_args_is_help=True
)
app.add_typer(secrets_app, name="secrets")


def _read_value(name: str) -> str:
    """From the terminal without echo (asked twice), else all of stdin (one trailing line
    break dropped): never from the command line."""
    if sys.stdin.isatty():
        import getpass  # noqa: PLC0415

        from beast_observatory.errors import ObservatoryError  # noqa: PLC0415

        first = getpass.getpass(f"{name}: ")
        if getpass.getpass(f"{name} (again): ") != first:
            raise ObservatoryError("the two values differ", hint="nothing was written; try again")
        return first
    return sys.stdin.read().removesuffix("\n").removesuffix("\r")


@secrets_app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="The variable, e.g. GRAFANA_ADMIN_PASSWORD.")],
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Write one secret into the host's .env (0600): the value comes from the terminal
    (no echo) or stdin, never from the command line."""
    from beast_observatory.deploy.secrets import set_secret  # noqa: PLC0415
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    value = _read_value(name)
    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        set_secret(session.transport, session.placement, session.bundle, name, value)
        where = f"{session.placement.directory}/.env on {session.placement.where}"
    typer.echo(f"{name} set in {where}")


@secrets_app.command("list")
def list_(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Every secret the spec reads and whether the host's .env has it (never the values).
    Exit 1 when one the spec needs is missing."""
    from beast_observatory.deploy.secrets import list_secrets  # noqa: PLC0415
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        rows = list_secrets(session.transport, session.placement, session.bundle)
        where = f"{session.placement.directory}/.env on {session.placement.where}"
    if not rows:
        typer.echo(f"environment {environment} reads no secret from .env")
    width = max((len(r.name) for r in rows), default=0)
    for r in rows:
        state = "set" if r.on_host else "MISSING"
        if not r.needed:
            state += " (not read by the spec)"
        typer.echo(f"{r.name:<{width}}  {state}")
    missing = [r.name for r in rows if r.needed and not r.on_host]
    if missing:
        typer.echo(
            f"missing in {where}: {', '.join(missing)} (observatory secrets set NAME)", err=True
        )
        raise typer.Exit(1)
