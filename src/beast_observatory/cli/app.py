"""``observatory``: the command tree. Each command parses options and calls the core."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from beast_observatory import __version__
from beast_observatory.cli.errors import run_guarded

app = typer.Typer(
    name="observatory",
    help="Compose-as-code for a Prometheus + Grafana + Pushgateway observatory.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(
    help="Show, query and edit the spec's configuration.", no_args_is_help=True
)
app.add_typer(config_app, name="config")

SpecOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="The spec file (default: ./observatory.yaml, else the one stacks/*/observatory.yaml).",
        envvar="OBSERVATORY_SPEC",
    ),
]
EnvOpt = Annotated[str, typer.Option("--environment", "-e", help="Environment of the spec.")]
DEFAULT_SPEC: Path | None = None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"observatory {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Compose-as-code for a Prometheus + Grafana + Pushgateway observatory."""


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_guarded(lambda: app(args=argv, prog_name="observatory", standalone_mode=False)))


# Command modules register themselves on `app`; importing them is cheap (they import the
# core lazily inside each command).
from beast_observatory.cli import backup_commands as _backup_commands  # noqa: E402,F401
from beast_observatory.cli import deploy_commands as _deploy_commands  # noqa: E402,F401
from beast_observatory.cli import discover_commands as _discover_commands  # noqa: E402,F401
from beast_observatory.cli import host_commands as _host_commands  # noqa: E402,F401
from beast_observatory.cli import secret_commands as _secret_commands  # noqa: E402,F401
from beast_observatory.cli import spec_commands as _spec_commands  # noqa: E402,F401
from beast_observatory.fleet import cli as _fleet_commands  # noqa: E402,F401
