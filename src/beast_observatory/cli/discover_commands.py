"""Commands that read a live host into files: discover, export, import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from beast_observatory.cli.app import DEFAULT_SPEC, SpecOpt, app
from beast_observatory.cli.host_commands import (
    AcceptNewOpt,
    HostOpt,
    KnownHostsOpt,
    SshConfigOpt,
    connect_options,
)

DiscoverEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "-e",
        help="Environment of the spec whose host to probe "
        "(default: this machine, or remote with --host).",
    ),
]


@app.command()
def discover(
    *,
    spec: SpecOpt = DEFAULT_SPEC,
    environment: DiscoverEnvOpt = None,
    host: HostOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default docs/discovery/<host>/).")
    ] = None,
    directory: Annotated[
        list[str] | None,
        typer.Option(
            "--dir", help="Also read every file under this directory on the host (repeatable)."
        ),
    ] = None,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Probe a host in one round trip: containers, compose projects, config files and APIs,
    into inventory.json and DISCOVERY.md."""
    from beast_observatory.discover.commands import discover_command, discover_target  # noqa: PLC0415

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    target = discover_target(spec, environment, options)
    discover_command(target, out, directory or [], typer.echo)


@app.command()
def export(
    *,
    spec: SpecOpt = DEFAULT_SPEC,
    environment: DiscoverEnvOpt = None,
    host: HostOpt = None,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="A saved inventory.json instead of probing the host."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the spec here (side files beside it); default: print it."
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="Compose project to export (default: the first with a Prometheus)."
        ),
    ] = None,
    ssh_config: SshConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    accept_new_host_key: AcceptNewOpt = False,
) -> None:
    """Turn a discovered host (or a saved inventory.json) into a spec that rebuilds it."""
    from beast_observatory.discover.commands import discovered, export_command  # noqa: PLC0415

    options = connect_options(host, ssh_config, known_hosts, accept_new_host_key)
    inventory, ssh_host = discovered(source, spec, environment, options)
    export_command(
        inventory,
        project=project,
        environment=environment or ("remote" if ssh_host else "local"),
        ssh_host=ssh_host,
        output=output,
        echo=lambda text: typer.echo(text, nl=False),
        echo_err=lambda text: typer.echo(text, err=True),
    )


@app.command("import")
def import_(
    source: Annotated[
        Path,
        typer.Argument(
            help="A spec (observatory.yaml) or an inventory.json from `observatory discover`."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Stack name: writes stacks/<name>/observatory.yaml (default: the project).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace an existing spec (keeping its comments where possible)."
        ),
    ] = False,
) -> None:
    """Validate and normalise a spec or an inventory into stacks/<name>/observatory.yaml."""
    from beast_observatory.discover.commands import import_command  # noqa: PLC0415

    done = import_command(source, name=name, force=force)
    for note in done.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"wrote {done.spec}" + (f" and {len(done.files)} side file(s)" if done.files else "")
    )
    typer.echo(f"next: observatory build -f {done.spec}")
