"""Grafana as discovered -> the spec's grafana section (pure).

grafana.ini, the provisioning files (data sources, dashboard providers) and the dashboards
are read from the files the probe collected through the container's mounts. Secrets stay on
the host: the admin password becomes ``admin_password: {env: ...}``, secret ini keys become
``GF_<SECTION>_<KEY>: ${...}`` references in the environment.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.discover.mapping import (
    IMAGE_ENV,
    ExportContext,
    reference_name,
    sanitize_name,
    service_environment,
)
from beast_observatory.host.probe.inventory import is_redacted, is_secret_name
from beast_observatory.kinds.grafana.dashboards import check_dashboard
from beast_observatory.render.grafana import CONFIG_DIR, PROMETHEUS_UID
from beast_observatory.yamlio import YamlError, load_yaml

ADMIN_ENV = "GRAFANA_ADMIN_PASSWORD"
UID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
OWNED_ENV = (
    "GF_SECURITY_ADMIN_USER",
    "GF_SECURITY_ADMIN_PASSWORD",
    "GF_SECURITY_ADMIN_PASSWORD__FILE",
    "GF_INSTALL_PLUGINS",
    # The spec's layout: config in /etc/grafana, data in /var/lib/grafana.
    "GF_PATHS_CONFIG",
    "GF_PATHS_PROVISIONING",
    "GF_PATHS_DATA",
)
DATASOURCE_KEYS = {
    "name",
    "type",
    "uid",
    "url",
    "access",
    "isDefault",
    "jsonData",
    "orgId",
    "editable",
    "version",
}
INI_VALUE = re.compile(r"^-?\d+$")


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """grafana.ini as {section: {key: value}} (Grafana's ini: ';'/'#' comments, \"\"\" quoting)."""
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


def _ini_value(value: str) -> str | int | bool:
    if value in ("true", "false"):
        return value == "true"
    if INI_VALUE.match(value) and len(value) < 16:  # noqa: PLR2004 - ids and numbers, not secrets
        return int(value)
    return value


def _env_name(section: str, key: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", f"GF_{section}_{key}".upper())


def ini_section(
    ctx: ExportContext, ini: Mapping[str, Mapping[str, str]], env: dict[str, str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    owned = {
        ("paths", "provisioning"): f"{CONFIG_DIR}/provisioning",
        ("server", "http_port"): "3000",
    }
    for section, values in sorted(ini.items()):
        for key, value in sorted(values.items()):
            if (section, key) in owned:
                if value != owned[(section, key)]:
                    ctx.note(
                        f"grafana.ini [{section}] {key} = {value}: "
                        f"the spec's layout uses {owned[(section, key)]}"
                    )
                continue
            if section == "security" and key in ("admin_user", "admin_password"):
                continue  # carried by admin_user / admin_password
            if not section or not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", section + key):
                ctx.note(
                    f"grafana.ini: {key!r} (section {section!r}) "
                    "cannot be said in the spec: left out"
                )
                continue
            if is_redacted(value) or (
                is_secret_name(key)
                and value
                and reference_name(value) is None
                and not value.startswith("$__")
            ):
                name = _env_name(section, key)
                env[name] = ctx.secret_env(name, f"grafana.ini [{section}] {key} is a secret")
                continue
            out.setdefault(section, {})[key] = _ini_value(value)
    return out


def _admin_password(
    ctx: ExportContext, container: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, str]:
    fragment_env = (ctx.fragment(container) or {}).get("environment")
    written = {}
    if isinstance(fragment_env, Mapping):
        written = {str(k): str(v) for k, v in fragment_env.items() if v is not None}
    elif isinstance(fragment_env, list):
        written = dict(str(e).partition("=")[::2] for e in fragment_env)
    live = container.get("env") or {}
    file = written.get("GF_SECURITY_ADMIN_PASSWORD__FILE") or live.get(
        "GF_SECURITY_ADMIN_PASSWORD__FILE"
    )
    if file:
        host = ctx.host_path(container, file)
        if host:
            return {"file": host}
        ctx.note(
            f"{container['name']}: the admin password file {file} is not a bind mount: "
            f"env {ADMIN_ENV} used"
        )
    ref = reference_name(written.get("GF_SECURITY_ADMIN_PASSWORD"))
    if ref:
        ctx.secrets.add(ref)
        return {"env": ref}
    if "GF_SECURITY_ADMIN_PASSWORD" in live or "GF_SECURITY_ADMIN_PASSWORD" in env:
        ctx.secret_env(ADMIN_ENV, "Grafana's admin password was redacted on the host")
    else:
        ctx.secret_env(
            ADMIN_ENV,
            "Grafana's admin password is not set in its environment (Grafana's default is 'admin')",
        )
    return {"env": ADMIN_ENV}


def _yaml_files(
    ctx: ExportContext, container: Mapping[str, Any], directory: str
) -> list[tuple[str, Any]]:
    out = []
    for path, record in sorted(ctx.config_files(container).items()):
        if posixpath.dirname(path) != directory.rstrip("/") or not path.endswith((".yml", ".yaml")):
            continue
        if record.get("content") is None:
            ctx.note(f"{container['name']}: {path} could not be read: {record.get('error')}")
            continue
        try:
            out.append((path, load_yaml(str(record["content"]), path)))
        except YamlError as exc:
            ctx.note(f"{container['name']}: {path}: {exc.message}")
    return out


def _datasource(ctx: ExportContext, path: str, raw: Mapping[str, Any]) -> dict[str, Any] | None:
    name = str(raw.get("name") or "")
    uid = str(raw.get("uid") or sanitize_name(name).replace(".", "-"))[:40]
    if dropped := sorted(set(raw) - DATASOURCE_KEYS):
        ctx.note(f"{path}: data source {name}: {', '.join(dropped)} left out (not in the spec)")
    if uid == PROMETHEUS_UID:
        ctx.note(
            f"{path}: data source {name} (uid {uid}) is the spec's built-in Prometheus data source"
        )
        return None
    if not UID.match(uid):
        ctx.note(f"{path}: data source {name}: uid {uid!r} is not valid: left out")
        return None
    if name == "Prometheus":
        name = f"Prometheus ({uid})"
        ctx.note(
            f"{path}: data source 'Prometheus' (uid {uid}) is named {name!r}: the spec has its own"
        )
    ds: dict[str, Any] = {
        "name": name,
        "type": str(raw.get("type") or ""),
        "uid": uid,
        "url": str(raw.get("url") or ""),
    }
    if raw.get("access") in ("proxy", "direct"):
        ds["access"] = raw["access"]
    if raw.get("isDefault"):
        ds["is_default"] = True
    if isinstance(raw.get("jsonData"), dict) and raw["jsonData"]:
        ds["json_data"] = raw["jsonData"]
    return ds


def datasources(
    ctx: ExportContext, container: Mapping[str, Any], provisioning: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path, doc in _yaml_files(ctx, container, f"{provisioning}/datasources"):
        listed = doc.get("datasources") if isinstance(doc, dict) else None
        for raw in listed if isinstance(listed, list) else []:
            if isinstance(raw, dict) and (ds := _datasource(ctx, path, raw)):
                out.append(ds)
    return out


def _dashboard(
    ctx: ExportContext, path: str, record: Mapping[str, Any], provider: str
) -> str | None:
    if record.get("content") is None:
        ctx.note(f"dashboard {path} could not be read: {record.get('error')}")
        return None
    try:
        doc = json.loads(str(record["content"]))
    except ValueError as exc:
        ctx.note(f"dashboard {path} is not JSON ({exc}): left out")
        return None
    if problems := check_dashboard(doc):
        ctx.note(f"dashboard {path}: {problems[0]} (fix it before `observatory build`)")
    return ctx.add_file(f"dashboards/{provider}/{posixpath.basename(path)}", str(record["content"]))


def dashboards(
    ctx: ExportContext, container: Mapping[str, Any], provisioning: str
) -> list[dict[str, Any]]:
    files = ctx.config_files(container)
    out: list[dict[str, Any]] = []
    for path, doc in _yaml_files(ctx, container, f"{provisioning}/dashboards"):
        for raw in (doc or {}).get("providers") or [] if isinstance(doc, dict) else []:
            if not isinstance(raw, dict):
                continue
            name = sanitize_name(str(raw.get("name") or "dashboards"))
            folder_path = str((raw.get("options") or {}).get("path") or "").rstrip("/")
            found = [
                p for p in sorted(files) if p.startswith(folder_path + "/") and p.endswith(".json")
            ]
            written = [w for p in found if (w := _dashboard(ctx, p, files[p], name))]
            if not written:
                ctx.note(
                    f"{path}: dashboard provider {raw.get('name')}: "
                    f"no dashboard found under {folder_path}"
                )
                continue
            provider: dict[str, Any] = {"name": name, "files": [f"dashboards/{name}/*.json"]}
            if raw.get("folder"):
                provider["folder"] = str(raw["folder"])
            if raw.get("allowUiUpdates"):
                provider["allow_ui_updates"] = True
            if isinstance(raw.get("updateIntervalSeconds"), int):
                provider["update_interval_seconds"] = max(10, raw["updateIntervalSeconds"])
            out.append(provider)
    return out


def grafana_section(ctx: ExportContext, container: Mapping[str, Any]) -> dict[str, Any]:
    live = container.get("env") or {}
    env = service_environment(ctx, container, drop=OWNED_ENV)
    out: dict[str, Any] = {}
    written_user = (ctx.fragment(container) or {}).get("environment")
    user = live.get("GF_SECURITY_ADMIN_USER")
    if isinstance(written_user, Mapping) and reference_name(
        written_user.get("GF_SECURITY_ADMIN_USER")
    ):
        ctx.note(
            f"{container['name']}: the admin user comes from a variable; the spec writes its value"
        )
    if user and not is_redacted(user):
        out["admin_user"] = user
    out["admin_password"] = _admin_password(ctx, container, env)
    if plugins := [p for p in (live.get("GF_INSTALL_PLUGINS") or "").split(",") if p.strip()]:
        out["plugins"] = sorted(p.strip() for p in plugins)
    for name in ("GF_PATHS_CONFIG", "GF_PATHS_PROVISIONING", "GF_PATHS_DATA"):
        if name in live and IMAGE_ENV.get(name) != live[name]:
            ctx.note(
                f"{container['name']}: {name}={live[name]}: the spec's layout keeps its own path"
            )
    ini_path = live.get("GF_PATHS_CONFIG") or f"{CONFIG_DIR}/grafana.ini"
    text = ctx.config_text(container, ini_path, "grafana.ini")
    ini = parse_ini(text) if text is not None else {}
    provisioning = (
        live.get("GF_PATHS_PROVISIONING")
        or (ini.get("paths") or {}).get("provisioning")
        or f"{CONFIG_DIR}/provisioning"
    ).rstrip("/")
    if ini_out := ini_section(ctx, ini, env):
        out["ini"] = ini_out
    if env:
        out["environment"] = env
    if sources := datasources(ctx, container, provisioning):
        out["datasources"] = sources
    out["dashboards"] = dashboards(ctx, container, provisioning)
    return out
