"""``observatory fleet plan|apply``: the exporters of an environment's fleet, on every host."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from beast_observatory.cli.app import DEFAULT_SPEC, SpecOpt, app
from beast_observatory.cli.host_commands import (
    AcceptNewOpt,
    EnvOpt,
    KnownHostsOpt,
    SshConfigOpt,
    connect_options,
    require_confirmation,
)

if TYPE_CHECKING:
    from beast_observatory.fleet.commands import FleetRun

fleet_app = typer.Typer(
    help="The exporters of an environment's fleet of monitored hosts: plan, apply.",
    no_args_is_help=True,
)
app.add_typer(fleet_app, name="fleet")

LimitOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        "-l",
        metavar="HOSTS",
        help="Only these hosts: a name, a glob ('web-*') or label=value; repeat or "
        "comma-separate (as Ansible's --limit).",
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-j", min=1, help="Hosts worked on at once.")
]
FailFastOpt = Annotated[
    bool, typer.Option("--fail-fast", help="Start no further host once one has failed.")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show what each host's operation said.")
]


def _run(
    spec: Path | None,
    environment: str,
    limit: list[str] | None,
    concurrency: int,
    fail_fast: bool,
    verbose: bool,
    connect: tuple[Path | None, Path | None, bool],
) -> FleetRun:
    from beast_observatory.fleet.commands import FleetRun  # noqa: PLC0415

    return FleetRun(
        spec=spec,
        environment=environment,
        limit=limit or [],
        connect=connect_options(None, *connect),
        concurrency=concurrency,
        fail_fast=fail_fast,
        verbose=verbose,
    )


@fleet_app.command("plan")
def plan(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = 5,
    fail_fast: FailFastOpt = False,
    verbose: VerboseOpt = False,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json")] = "text",
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """What differs on each host of the fleet. Exit 0 no changes, 2 changes, 1 a host failed."""
    from beast_observatory.fleet.commands import plan_command  # noqa: PLC0415

    run = _run(
        spec,
        environment,
        limit,
        concurrency,
        fail_fast,
        verbose,
        (ssh_config, known_hosts, accept_new_host_key),
    )
    raise typer.Exit(plan_command(run, output=output, echo=typer.echo))


@fleet_app.command("apply")
def apply(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = 5,
    fail_fast: FailFastOpt = False,
    verbose: VerboseOpt = False,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without showing the plans and asking.")
    ] = False,
    allow_remove: Annotated[
        bool, typer.Option("--allow-remove", help="Remove exporters the spec dropped.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a host's exporters to answer.")
    ] = 180.0,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Deploy the exporters to every host: lock, stage, validate, switch, verify, roll back."""
    from beast_observatory.fleet.commands import ApplySettings, apply_command  # noqa: PLC0415

    require_confirmation(auto_approve, "fleet apply", "observatory fleet plan")
    run = _run(
        spec,
        environment,
        limit,
        concurrency,
        fail_fast,
        verbose,
        (ssh_config, known_hosts, accept_new_host_key),
    )
    settings = ApplySettings(auto_approve, allow_remove, timeout)
    code = apply_command(
        run,
        settings,
        confirm=lambda question: typer.confirm(question, default=False),
        echo=typer.echo,
    )
    raise typer.Exit(code)
