"""A running Grafana read back as its spec section (pure): the inverse of ``render.py``.

grafana.ini, the provisioning files (data sources, dashboard providers) and the dashboards
come from the files the probe collected in the container (copied out of /etc/grafana, and
through its mounts). Every field is kept as Grafana reads it; secrets stay on the host:
grafana.ini's and data sources' secret values become $__env{VAR} references, the admin
password a reference to the host's .env.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.discover.context import (
    ExportContext,
    reference_name,
    sanitize_name,
    variable_for,
)
from beast_observatory.host.probe.inventory import Container, is_redacted
from beast_observatory.kinds.grafana.model import CONFIG_DIR, DATA_DIR
from beast_observatory.kinds.read import KindFacts
from beast_observatory.secret_rules import is_reference, is_secret_name

OWNED_ENV = frozenset(
    {
        "GF_SECURITY_ADMIN_USER",
        "GF_SECURITY_ADMIN_PASSWORD",
        "GF_SECURITY_ADMIN_PASSWORD__FILE",
        "GF_INSTALL_PLUGINS",
        "GF_SERVER_HTTP_PORT",  # container_port
    }
)
# The tool's layout: config in config_dir, provisioning below it.
LAYOUT_ENV = frozenset({"GF_PATHS_CONFIG", "GF_PATHS_PROVISIONING"})


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """grafana.ini as {section: {key: value}}; "" holds the keys before the first section
    (Grafana's ini: ';'/'#' comments, \"\"\" quoting)."""
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        key, eq, value = line.partition("=")
        if not eq:
            continue
        value = value.strip()
        if len(value) >= 6 and value.startswith('"""') and value.endswith('"""'):  # noqa: PLR2004
            value = value[3:-3]
        sections.setdefault(current, {})[key.strip()] = value
    return sections


def _paths(c: Container, ini: Mapping[str, Mapping[str, str]]) -> tuple[str, str]:
    """(grafana.ini's path, the provisioning folder) the container uses."""
    ini_path = c.env.get("GF_PATHS_CONFIG") or f"{CONFIG_DIR}/grafana.ini"
    provisioning = (
        c.env.get("GF_PATHS_PROVISIONING")
        or (ini.get("paths") or {}).get("provisioning")
        or f"{CONFIG_DIR}/provisioning"
    )
    return ini_path, provisioning.rstrip("/")


def _ini(ctx: ExportContext, c: Container) -> dict[str, dict[str, str]]:
    path = c.env.get("GF_PATHS_CONFIG") or f"{CONFIG_DIR}/grafana.ini"
    record = ctx.files_of(c).get(path)
    return parse_ini(record.content) if record and record.content else {}


def _yaml_docs(ctx: ExportContext, c: Container, directory: str) -> list[tuple[str, Any]]:
    out = []
    for path in sorted(ctx.files_of(c)):
        if posixpath.dirname(path) == directory and path.endswith((".yml", ".yaml")):
            doc = ctx.config_yaml(c, path, "provisioning file")
            if isinstance(doc, dict):
                out.append((path, doc))
    return out


def _provider_paths(ctx: ExportContext, c: Container, provisioning: str) -> list[str]:
    return [
        str((raw.get("options") or {}).get("path") or "").rstrip("/")
        for _, doc in _yaml_docs(ctx, c, f"{provisioning}/dashboards")
        for raw in doc.get("providers") or []
        if isinstance(raw, dict)
    ]


def facts(ctx: ExportContext, c: Container) -> KindFacts:
    ini = _ini(ctx, c)
    ini_path, provisioning = _paths(c, ini)
    port = c.env.get("GF_SERVER_HTTP_PORT") or (ini.get("server") or {}).get("http_port") or "3000"
    data = c.env.get("GF_PATHS_DATA") or (ini.get("paths") or {}).get("data") or DATA_DIR
    consumed = {posixpath.dirname(ini_path), provisioning, *_provider_paths(ctx, c, provisioning)}
    return KindFacts(
        key="grafana",
        default_name="grafana",
        container_port=int(port) if str(port).isdigit() else 3000,
        data_dir=data.rstrip("/"),
        default_data_dir=DATA_DIR,
        consumed=tuple(sorted(p for p in consumed if p)),
        owned_env=OWNED_ENV,
        drop_env=LAYOUT_ENV,
    )


def _secret(ctx: ExportContext, value: str, variable: str, why: str) -> str:
    """A secret value of a file Grafana expands ($__env{VAR}); a reference stays as it is."""
    if not is_redacted(value) and (is_reference(value) or not value):
        return value
    ctx.secret_env(variable, why)
    return f"$__env{{{variable}}}"


def ini_section(ctx: ExportContext, ini: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    out: dict[str, dict[str, str]] = {}
    for section, values in sorted(ini.items()):
        for key, value in sorted(values.items()):
            if section == "paths" and key == "provisioning":
                continue  # the tool's layout
            secret = is_secret_name(key) and value and not value.startswith("$__")
            if secret or is_redacted(value):
                variable = re.sub(r"[^A-Z0-9_]", "_", f"GF_{section}_{key}".upper())
                said = f"grafana.ini [{section}] {key} is a secret"
                out.setdefault(section, {})[key] = _secret(ctx, value, variable, said)
            else:
                out.setdefault(section, {})[key] = value
    return out


def _datasource(ctx: ExportContext, raw: Mapping[str, Any]) -> dict[str, Any]:
    ds = dict(raw)
    name = str(ds.get("name") or "datasource")
    secure = ds.get("secureJsonData") or ds.get("secure_json_data")
    if isinstance(secure, dict):
        fixed = {
            str(k): _secret(
                ctx,
                str(v),
                variable_for(f"GF_DS_{name}_{k}"),
                f"data source {name}: secureJsonData {k} is a secret",
            )
            for k, v in secure.items()
        }
        ds.pop("secure_json_data", None)
        ds["secureJsonData"] = fixed
    for key in ("password", "basicAuthPassword"):  # deprecated plain-text fields
        if isinstance(ds.get(key), str):
            ds[key] = _secret(
                ctx, ds[key], variable_for(f"GF_DS_{name}_{key}"), f"data source {name}: {key}"
            )
    return ds


def datasources(ctx: ExportContext, c: Container, provisioning: str) -> dict[str, Any]:
    out: dict[str, Any] = {"datasources": [], "delete_datasources": []}
    for _, doc in _yaml_docs(ctx, c, f"{provisioning}/datasources"):
        for raw in doc.get("datasources") or []:
            if isinstance(raw, dict):
                out["datasources"].append(_datasource(ctx, raw))
        for raw in doc.get("deleteDatasources") or []:
            if isinstance(raw, dict):
                out["delete_datasources"].append(dict(raw))
    return {k: v for k, v in out.items() if v}


def _dashboards(ctx: ExportContext, c: Container, path: str, folder: str) -> tuple[list[str], bool]:
    """Capture every dashboard below path into dashboards/<folder>/ (sub-folders kept);
    (the globs that select them, whether any sits in a sub-folder)."""
    nested = False
    for file, record in sorted(ctx.files_of(c).items()):
        if not file.startswith(path + "/") or not file.endswith(".json"):
            continue
        if record.content is None:
            ctx.note(f"dashboard {file} could not be read: {record.error}")
            continue
        relative = file[len(path) + 1 :]
        nested = nested or "/" in relative
        ctx.add_file(f"dashboards/{folder}/{relative}", record.content)
    glob = f"dashboards/{folder}/**/*.json" if nested else f"dashboards/{folder}/*.json"
    return [glob], nested


def providers(ctx: ExportContext, c: Container, provisioning: str) -> list[dict[str, Any]]:
    out = []
    for path, doc in _yaml_docs(ctx, c, f"{provisioning}/dashboards"):
        for raw in doc.get("providers") or []:
            if not isinstance(raw, dict):
                continue
            provider = {k: v for k, v in raw.items() if k != "options"}
            options = dict(raw.get("options") or {})
            folder_path = str(options.pop("path", "") or "").rstrip("/")
            name = str(raw.get("name") or "dashboards")
            files, _ = _dashboards(ctx, c, folder_path, sanitize_name(name))
            if not any(f.startswith(folder_path + "/") for f in ctx.files_of(c)):
                ctx.note(f"{path}: provider {name}: no dashboard found under {folder_path}")
            if "foldersFromFilesStructure" in options:
                provider["foldersFromFilesStructure"] = options.pop("foldersFromFilesStructure")
            provider["files"] = files
            if options:
                provider["options"] = options
            out.append(provider)
    return out


def _admin_password(ctx: ExportContext, c: Container) -> dict[str, str] | None:
    written = (ctx.fragment(c) or {}).get("environment")
    fragment = {}
    if isinstance(written, Mapping):
        fragment = {str(k): str(v) for k, v in written.items() if v is not None}
    elif isinstance(written, list):
        fragment = dict(str(e).partition("=")[::2] for e in written)
    file = c.env.get("GF_SECURITY_ADMIN_PASSWORD__FILE")
    if file:
        host = c.host_path(file)
        if host:
            return {"file": host}
        ctx.note(f"{c.name}: the admin password file {file} is not a bind mount")
    if "GF_SECURITY_ADMIN_PASSWORD" not in c.env:
        return None
    ref = reference_name(fragment.get("GF_SECURITY_ADMIN_PASSWORD"))
    name = ref or "GF_SECURITY_ADMIN_PASSWORD"
    ctx.secret_env(name, "Grafana's admin password")
    return {"env": name}


def read_grafana(ctx: ExportContext, c: Container) -> dict[str, Any]:
    ini = _ini(ctx, c)
    ini_path, provisioning = _paths(c, ini)
    out: dict[str, Any] = {
        "base_ini": False,
        "prometheus_datasource": False,
        "admin_user": c.env.get("GF_SECURITY_ADMIN_USER"),
        "admin_password": _admin_password(ctx, c),
    }
    if posixpath.dirname(ini_path) != CONFIG_DIR:
        out["config_dir"] = posixpath.dirname(ini_path)
    if provisioning != f"{posixpath.dirname(ini_path)}/provisioning":
        ctx.note(f"{c.name}: provisioning moves from {provisioning} to the tool's layout")
    if plugins := [p.strip() for p in c.env.get("GF_INSTALL_PLUGINS", "").split(",") if p.strip()]:
        out["plugins"] = plugins
    if section := ini_section(ctx, ini):
        out["ini"] = section
    out.update(datasources(ctx, c, provisioning))
    out["dashboards"] = providers(ctx, c, provisioning)
    return out
