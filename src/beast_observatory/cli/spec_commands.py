"""Commands about the spec and its compiled files: init, validate, schema, build, config."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from beast_observatory.cli.app import DEFAULT_SPEC, EnvOpt, SpecOpt, app, config_app


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to write the spec into.")] = Path(),
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Write the embedded Beast observatory spec, dashboards and rules."""
    from beast_observatory.spec.starter import init_stack  # noqa: PLC0415

    written = init_stack(directory, force=force)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: observatory build -f {directory / 'observatory.yaml'}")


class ValidateOutput(StrEnum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
def validate(
    spec: SpecOpt = DEFAULT_SPEC,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
    output: Annotated[
        ValidateOutput,
        typer.Option(
            "--output",
            "-o",
            help="text (for people), json (every problem with its place) or github "
            "(workflow annotations on the lines that have the problems).",
        ),
    ] = ValidateOutput.text,
) -> None:
    """Validate the spec: schema, every environment, referenced files, cross-file checks,
    and the rule tests (with promtool, when installed)."""
    from beast_observatory.bundle import validate as report_of  # noqa: PLC0415

    report = report_of.validate_spec(spec, strict=strict)
    if output is ValidateOutput.json:
        typer.echo(report_of.format_json(report))
    elif output is ValidateOutput.github:
        root = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
        for line in report_of.format_github(report, root):
            typer.echo(line)
        typer.echo(report_of.summary(report), err=True)
    elif report.error is not None:
        raise report.error
    else:
        for warning in report.warnings:
            typer.echo(f"warning: {warning.text()}", err=True)
        typer.echo(report_of.summary(report))
    if not report.valid:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of observatory.yaml."""
    from beast_observatory.spec.schema import schema_text  # noqa: PLC0415

    typer.echo(schema_text(), nl=False)


@app.command()
def build(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: Annotated[
        list[str] | None, typer.Option("--environment", "-e", help="Environment(s) to build.")
    ] = None,
    all_envs: Annotated[
        bool, typer.Option("--all", help="Build every environment (default).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output root (default: ./generated).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the output is stale.")
    ] = False,
) -> None:
    """Compile the spec into generated/<env>/ (atomically), or check that it is current."""
    from beast_observatory.bundle.build import build_command  # noqa: PLC0415

    envs = None if all_envs or not environment else environment
    code = build_command(spec, envs, out, check=check, echo=typer.echo)
    raise typer.Exit(code)


@config_app.command("show")
def config_show(
    spec: SpecOpt = DEFAULT_SPEC,
    environment: EnvOpt = "local",
    output: Annotated[str, typer.Option("--output", "-o", help="yaml or json")] = "yaml",
) -> None:
    """Print the effective (merged) configuration of an environment."""
    from beast_observatory.spec.config_view import effective_config  # noqa: PLC0415
    from beast_observatory.spec.load import load_project  # noqa: PLC0415
    from beast_observatory.yamlio import dump_yaml  # noqa: PLC0415

    data = effective_config(load_project(spec).stack(environment))
    typer.echo(
        json.dumps(data, indent=2) if output == "json" else dump_yaml(data), nl=output == "json"
    )


@config_app.command("get")
def config_get(
    path: Annotated[str, typer.Argument(help="Dotted path, e.g. services.grafana.port")],
    spec: SpecOpt = DEFAULT_SPEC,
    environment: Annotated[
        str | None,
        typer.Option("--environment", "-e", help="Read the merged value of this environment."),
    ] = None,
) -> None:
    """Print one value of the spec (or of an environment's effective configuration)."""
    from beast_observatory.spec.edit import get_value  # noqa: PLC0415

    typer.echo(get_value(spec, path, environment))


@config_app.command("set")
def config_set(
    path: Annotated[
        str, typer.Argument(help="Dotted path, e.g. services.prometheus.retention.time")
    ],
    value: Annotated[str, typer.Argument(help="New value, read as YAML (30d, 9090, [a, b]).")],
    spec: SpecOpt = DEFAULT_SPEC,
) -> None:
    """Set one value in the spec in place, keeping comments; refuses an invalid change."""
    from beast_observatory.spec.edit import set_value  # noqa: PLC0415

    written = set_value(spec, path, value)
    typer.echo(f"{written}: set {path}")


@config_app.command("diff")
def config_diff(
    env_a: Annotated[str, typer.Argument(help="First environment, e.g. local")],
    env_b: Annotated[str, typer.Argument(help="Second environment, e.g. remote")],
    spec: SpecOpt = DEFAULT_SPEC,
) -> None:
    """Show how the effective configuration of two environments differs."""
    from beast_observatory.spec.config_view import diff_configs, effective_config, format_diff  # noqa: PLC0415
    from beast_observatory.spec.load import load_project  # noqa: PLC0415

    project = load_project(spec)
    rows = diff_configs(
        effective_config(project.stack(env_a)), effective_config(project.stack(env_b))
    )
    typer.echo(format_diff(rows, env_a, env_b), nl=False)
