"""inventory.json and DISCOVERY.md: the inventory for machines and for people.

``render_inventory`` and ``render_markdown`` are pure; ``write_report`` writes both files.
Neither holds a timestamp, so a host that did not change gives the same files again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from beast_observatory.host.probe.inventory import Container, FileRecord, Inventory
from beast_observatory.names import COMPOSE_PROJECT

INVENTORY_NAME = "inventory.json"
REPORT_NAME = "DISCOVERY.md"
DEFAULT_ROOT = Path("docs") / "discovery"
_PROMETHEUS_INFO = "/api/v1/status/buildinfo"
# The probe's error for a file that is a secret whole: never read, only its size and sha256.
SECRET_FILE = "secret file: content not collected"  # noqa: S105 - a message, not a secret


def default_out(host: str | None) -> Path:
    """docs/discovery/<host>/, ``local`` for this machine."""
    return DEFAULT_ROOT / (host or "local")


def render_inventory(inventory: Inventory) -> str:
    return json.dumps(inventory.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def _table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _ports(container: Container) -> str:
    out = []
    for port, binds in sorted(container.ports.items()):
        out += [f"{b.host_ip or '*'}:{b.host_port}->{port}" for b in binds]
    return ", ".join(out)


def _state(container: Container) -> str:
    health = container.state.health
    return f"{container.state.status}" + (f" ({health})" if health else "")


def _networks(c: Container) -> str:
    return ", ".join(
        a.network + (f" (aliases {', '.join(a.aliases)})" if a.aliases else "") for a in c.networks
    )


def _container_section(c: Container) -> list[str]:
    lines = [f"### {c.name}", ""]
    digests = ", ".join(c.repo_digests) or "none (a local image)"
    hc = c.healthcheck
    lines += [
        f"- image: `{c.image}` ({c.image_id}; digests: {digests})",
        f"- state: {_state(c)}, restart policy `{c.restart_policy}`, "
        f"user `{c.user or 'image default'}`",
        f"- entrypoint: `{' '.join(c.entrypoint) or '-'}`",
        f"- command: `{' '.join(c.cmd) or '-'}`",
        f"- ports: {_ports(c) or 'none published'}",
        f"- networks: {_networks(c) or '-'}",
        f"- healthcheck: `{' '.join(hc.test)}` every {hc.interval or 'default'}"
        if hc
        else "- healthcheck: none",
        "",
    ]
    if c.mounts:
        lines += ["Mounts:", ""]
        lines += _table(
            ("type", "source", "destination", "mode"),
            [(m.type, m.name or m.source, m.destination, "rw" if m.rw else "ro") for m in c.mounts],
        )
    if c.env:
        lines += ["Environment (secret-looking values redacted on the host):", "", "```"]
        lines += [f"{k}={v}" for k, v in c.env.items()]
        lines += ["```", ""]
    labels = {k: v for k, v in c.labels.items() if not k.startswith("com.docker.compose.")}
    if labels:
        lines += ["Labels (compose's own left out):", "", "```"]
        lines += [f"{k}={v}" for k, v in labels.items()]
        lines += ["```", ""]
    return lines


def _files_table(files: Mapping[str, FileRecord]) -> list[str]:
    rows = [
        (
            path,
            r.host_path or "(in the container)",
            r.size,
            (r.sha256 or "")[:12],
            r.error or "read",
        )
        for path, r in files.items()
    ]
    return _table(("path", "on the host", "bytes", "sha256", "status"), rows)


def _apis(inventory: Inventory) -> list[str]:
    rows = []
    for owner, paths in inventory.apis.items():
        for path, answer in paths.items():
            rows.append(
                (owner, path, answer.status or "no answer", _api_summary(path, answer.body))
            )
    return _table(("container", "path", "status", "summary"), rows)


def _api_summary(path: str, body: object) -> str:
    data = body.get("data") if isinstance(body, dict) else None
    if path == _PROMETHEUS_INFO and isinstance(data, dict):
        return f"Prometheus {data.get('version')}"
    if path == "/api/v1/targets" and isinstance(data, dict):
        targets = data.get("activeTargets") or []
        up = sum(1 for t in targets if isinstance(t, dict) and t.get("health") == "up")
        return f"{len(targets)} active targets, {up} up"
    if path == "/api/health" and isinstance(body, dict):
        return f"version {body.get('version')}, database {body.get('database')}"
    if path == "/api/v1/status" and isinstance(data, dict):
        version = (data.get("build_information") or {}).get("version")
        return f"Pushgateway {version}" if version else ""
    return ""


def render_markdown(inventory: Inventory) -> str:
    """DISCOVERY.md: what runs on the host, for people (inventory.json beside it is complete)."""
    host, docker, containers = inventory.host, inventory.docker, inventory.containers
    lines = [
        f"# Discovery of {host.hostname or 'the host'}",
        "",
        "Written by `observatory discover`; every value comes from the host, secrets redacted",
        "there as `<redacted sha256:...>` (the first 12 hex digits of the value's sha256).",
        "Machine-readable:",
        f"`{INVENTORY_NAME}` beside this file.",
        "",
        f"- kernel: {host.kernel or '-'}",
    ]
    if docker.available:
        lines += [
            f"- Docker engine {docker.server_version}; "
            f"compose plugin {docker.compose_plugin or 'absent'}, "
            f"standalone docker-compose {docker.compose_standalone or 'absent'}",
        ]
    else:
        lines += [f"- Docker: not available ({docker.error})"]
    lines += ["", "## Containers", ""]
    lines += _table(
        ("name", "image", "state", "ports", "compose project"),
        [(c.name, c.image, _state(c), _ports(c), c.project) for c in containers],
    )
    for c in containers:
        lines += _container_section(c)
    lines += ["## Compose projects", ""]
    for project in inventory.compose_projects:
        lines += [
            f"### {project.name}",
            "",
            f"- working directory: {project.working_dir or '-'}",
            f"- config files: {', '.join(project.config_files) or '-'}",
            "",
        ]
        lines += _files_table(project.files)
    if not inventory.compose_projects:
        lines += ["(none)", ""]
    lines += ["## Volumes", ""]
    lines += _table(
        ("name", "driver", "compose project"),
        [(v.name, v.driver, v.labels.get(COMPOSE_PROJECT)) for v in inventory.volumes],
    )
    lines += ["## Networks", ""]
    lines += _table(
        ("name", "driver", "internal", "compose project"),
        [(n.name, n.driver, n.internal, n.labels.get(COMPOSE_PROJECT)) for n in inventory.networks],
    )
    lines += ["## Configuration files", ""]
    for owner, files in inventory.config_files.items():
        lines += [f"### {owner}", "", *_files_table(files)]
    if not inventory.config_files:
        lines += [
            "(none found through the mounts of Prometheus, Grafana, Pushgateway or Alertmanager)",
            "",
        ]
    for directory, files in inventory.directories.items():
        lines += [f"### Directory {directory}", "", *_files_table(files)]
    lines += ["## Service APIs", "", *_apis(inventory)]
    errors = sorted(inventory.file_errors())
    secret_files = [f"- {where}: {path}" for where, path, why in errors if why == SECRET_FILE]
    if secret_files:
        lines += ["## Secret files (never read: size and sha256 only)", "", *secret_files, ""]
    lines += ["## What could not be read, and why", ""]
    problems = [f"- {p}" for p in inventory.problems]
    problems += [f"- {where}: {path}: {why}" for where, path, why in errors if why != SECRET_FILE]
    lines += problems or ["Nothing: every container, file and API answered."]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_report(inventory: Inventory, out: Path) -> list[Path]:
    """Write inventory.json and DISCOVERY.md into out (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        (INVENTORY_NAME, render_inventory(inventory)),
        (REPORT_NAME, render_markdown(inventory)),
    ):
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def load_inventory(path: Path) -> Inventory:
    """A saved inventory.json; a user error when it is not one."""
    from beast_observatory.errors import ObservatoryError  # noqa: PLC0415

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ObservatoryError(
            f"{path}: no such file", hint="run `observatory discover` first"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ObservatoryError(f"{path}: not a JSON inventory: {exc}") from None
    if not looks_like_inventory(data):
        raise ObservatoryError(f"{path}: not an inventory written by `observatory discover`")
    try:
        return Inventory.from_json(data)
    except ValueError as exc:
        raise ObservatoryError(
            f"{path}: not an inventory of this version of `observatory discover`: {exc}",
            hint="run `observatory discover` again",
        ) from None


def looks_like_inventory(data: object) -> bool:
    return (
        isinstance(data, dict)
        and "probe_version" in data
        and isinstance(data.get("containers"), list)
    )
