"""plan and apply: drift between the spec and a host, and converging it."""

from __future__ import annotations

import json
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
    require_confirmation,
)
from beast_observatory.errors import EXIT_CHANGES


@app.command()
def plan(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json")] = "text",
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Show what differs between the spec and the host. Exit 0 no changes, 2 changes, 1 error."""
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        # Imported while the connection opens (host_session starts it): it takes as long.
        from beast_observatory.deploy.apply import compute_plan  # noqa: PLC0415
        from beast_observatory.plan.model import format_plan  # noqa: PLC0415

        result = compute_plan(session.transport, session.placement, session.bundle)
    if output == "json":
        typer.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        typer.echo(format_plan(result), nl=False)
    raise typer.Exit(EXIT_CHANGES if result.changed else 0)


@app.command()
def apply(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    host: HostOpt = None,
    out: OutOpt = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking.")
    ] = False,
    allow_remove: Annotated[
        bool, typer.Option("--allow-remove", help="Remove containers of services the spec dropped.")
    ] = False,
    allow_data_move: Annotated[
        bool,
        typer.Option(
            "--allow-data-move",
            help="Apply even though the plan moves data or loses a container's own data.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for services to be healthy.")
    ] = 180.0,
    scrape_wait: Annotated[
        float, typer.Option(help="Seconds to wait for every scrape target to be up.")
    ] = 90.0,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Make the host match the spec: validate, switch, reload/recreate, verify, roll back."""
    from beast_observatory.deploy.session import host_session  # noqa: PLC0415

    require_confirmation(auto_approve, "apply", "observatory plan")

    def confirm(_plan: object) -> bool:
        return typer.confirm("Apply these changes?", default=False)

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    with host_session(spec, environment, out, options, refresh=False, echo=typer.echo) as session:
        # Imported while the connection opens (host_session starts it): it takes as long.
        from beast_observatory.deploy.apply import ApplyOptions  # noqa: PLC0415
        from beast_observatory.deploy.apply import apply as run_apply  # noqa: PLC0415

        opts = ApplyOptions(
            auto_approve=auto_approve,
            allow_remove=allow_remove,
            allow_data_move=allow_data_move,
            timeout=timeout,
            scrape_wait=scrape_wait,
        )
        code = run_apply(
            session.transport,
            session.placement,
            session.bundle,
            opts,
            confirm=confirm,
            echo=typer.echo,
        )
    raise typer.Exit(code)
