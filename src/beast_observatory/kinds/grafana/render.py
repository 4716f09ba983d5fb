"""Grafana: grafana.ini, provisioning files, dashboards and the compose service (pure).
``read.py`` beside this is the inverse.

Formats: https://grafana.com/docs/grafana/latest/administration/provisioning/
"""

from __future__ import annotations

import glob
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import key_ordered, yaml_file
from beast_observatory.kinds.grafana.model import (
    CONFIG_DIR,
    DATA_DIR,
    DashboardProvider,
    Datasource,
    Grafana,
    IniValue,
)
from beast_observatory.kinds.service import KindParts
from beast_observatory.names import HEADER
from beast_observatory.spec.resolve import Stack
from beast_observatory.spec.types import SecretRef

FOLDER = "grafana"
DEFAULT_PORT = 3000
PROMETHEUS_UID = "prometheus"
DATASOURCES_FILE = f"{FOLDER}/provisioning/datasources/observatory.yml"
PROVIDERS_FILE = f"{FOLDER}/provisioning/dashboards/observatory.yml"
_ENV_REF = re.compile(r"\$__env\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What Grafana expands from its environment in provisioning files: $__env{VAR}, ${VAR}, $VAR.
_PROVISIONING_REF = re.compile(r"\$__env\{([A-Za-z_]\w*)\}|\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)")

# The tool's settings (base_ini: true); the spec's `ini` sections override them key by key.
BASE_INI: dict[str, dict[str, IniValue]] = {
    "analytics": {"check_for_updates": False, "reporting_enabled": False},
    "security": {"cookie_secure": False, "disable_gravatar": True},
    "users": {"allow_sign_up": False},
}
# Grafana's provisioning keys, in the order of its documentation's examples.
DATASOURCE_KEYS = (
    ("name", "name"),
    ("type", "type"),
    ("access", "access"),
    ("org_id", "orgId"),
    ("uid", "uid"),
    ("url", "url"),
    ("user", "user"),
    ("database", "database"),
    ("basic_auth", "basicAuth"),
    ("basic_auth_user", "basicAuthUser"),
    ("with_credentials", "withCredentials"),
    ("is_default", "isDefault"),
    ("json_data", "jsonData"),
    ("secure_json_data", "secureJsonData"),
    ("version", "version"),
    ("editable", "editable"),
)
PROVIDER_KEYS = (
    ("name", "name"),
    ("org_id", "orgId"),
    ("folder", "folder"),
    ("folder_uid", "folderUid"),
    ("type", "type"),
    ("disable_deletion", "disableDeletion"),
    ("update_interval_seconds", "updateIntervalSeconds"),
    ("allow_ui_updates", "allowUiUpdates"),
    ("editable", "editable"),
)


def _ini_value(value: IniValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ini_sections(grafana: Grafana) -> dict[str, dict[str, IniValue]]:
    sections: dict[str, dict[str, IniValue]] = (
        {k: dict(v) for k, v in BASE_INI.items()} if grafana.base_ini else {}
    )
    if grafana.config_dir != CONFIG_DIR or grafana.base_ini:
        sections.setdefault("paths", {})["provisioning"] = f"{grafana.config_dir}/provisioning"
    for name, values in grafana.ini.items():
        sections.setdefault(name, {}).update(values)
    return sections


def ini_env_references(grafana: Grafana) -> list[str]:
    """Variables grafana.ini reads with $__env{VAR}, sorted."""
    return sorted(
        {
            m
            for values in grafana.ini.values()
            for v in values.values()
            for m in _ENV_REF.findall(str(v))
        }
    )


def render_ini(grafana: Grafana) -> bytes:
    sections = ini_sections(grafana)
    lines = [f"; {HEADER}"]
    if "" in sections:  # keys before the first section (app_mode, instance_name)
        lines.extend(f"{k} = {_ini_value(v)}" for k, v in sorted(sections.pop("").items()))
    for name in sorted(sections):
        lines.append(f"\n[{name}]")
        lines.extend(f"{key} = {_ini_value(v)}" for key, v in sorted(sections[name].items()))
    return ("\n".join(lines) + "\n").encode()


def prometheus_datasource(stack: Stack) -> dict[str, Any]:
    p = stack.services.prometheus
    return {
        "name": "Prometheus",
        "type": "prometheus",
        "access": "proxy",
        "uid": PROMETHEUS_UID,
        "url": f"http://{stack.service_name('prometheus')}:{p.container_port}",
        "isDefault": True,
        # No timeInterval here: tying it to the scrape interval would make a scrape interval
        # change restart Grafana (datasources are only read at start).
        "jsonData": {"httpMethod": "POST"},
        "editable": False,
    }


def _provisioning(item: Any, keys: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A model as Grafana's provisioning writes it: camelCase, set fields only, extras after."""
    out: dict[str, Any] = {}
    for field, key in keys:
        value = getattr(item, field, None)
        if value is None or (isinstance(value, dict) and not value):
            continue
        out[key] = key_ordered(value)
    out.update(key_ordered(item.extras()))
    return out


def datasource_entry(ds: Datasource) -> dict[str, Any]:
    return _provisioning(ds, DATASOURCE_KEYS)


def has_auto_datasource(stack: Stack) -> bool:
    g, p = stack.services.grafana, stack.services.prometheus
    return g.prometheus_datasource and p.enabled


def datasource_uids(stack: Stack) -> set[str]:
    own = {d.uid for d in stack.services.grafana.datasources if d.uid}
    return own | ({PROMETHEUS_UID} if has_auto_datasource(stack) else set())


def render_datasources(stack: Stack) -> bytes:
    g = stack.services.grafana
    extra = [datasource_entry(d) for d in g.datasources]
    listed = []
    if has_auto_datasource(stack):
        base = prometheus_datasource(stack)
        if any(d.get("isDefault") for d in extra):
            base["isDefault"] = False
        listed.append(base)
    doc: dict[str, Any] = {"apiVersion": 1}
    if g.delete_datasources:
        doc["deleteDatasources"] = [
            {"name": d.name, **({"orgId": d.org_id} if d.org_id is not None else {})}
            for d in g.delete_datasources
        ]
    doc["datasources"] = listed + extra
    return yaml_file(doc, HEADER)


def provider_dir(provider: DashboardProvider) -> str:
    """The folder of a provider's dashboards in the bundle, below grafana/dashboards/."""
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", provider.name).strip("-.") or "dashboards"


def render_providers(grafana: Grafana) -> bytes:
    providers = []
    for p in grafana.dashboards:
        entry = _provisioning(p, PROVIDER_KEYS)
        options: dict[str, Any] = {"path": f"{grafana.config_dir}/dashboards/{provider_dir(p)}"}
        if p.folders_from_files_structure is not None:
            options["foldersFromFilesStructure"] = p.folders_from_files_structure
        options.update(key_ordered(p.options))
        entry.pop("options", None)
        entry["options"] = options
        providers.append(entry)
    return yaml_file({"apiVersion": 1, "providers": providers}, HEADER)


def glob_base(pattern: str) -> str:
    """The fixed folder of a glob: what stays of the path before the first magic part."""
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def dashboard_files(grafana: Grafana, matches: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Target path in the bundle -> source asset path, for every provider's files. Below a
    glob's fixed folder the sub-folders are kept (foldersFromFilesStructure reads them)."""
    out: dict[str, str] = {}
    for provider in grafana.dashboards:
        for ref in provider.files:
            base = glob_base(ref) if glob.has_magic(ref) else posixpath.dirname(ref)
            for source in matches.get(ref, ()):
                relative = posixpath.relpath(source, base) if base else source
                out[f"{FOLDER}/dashboards/{provider_dir(provider)}/{relative}"] = source
    return out


def render_files(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> dict[str, bytes]:
    """Files under grafana/ (mounted as a directory at config_dir)."""
    grafana = stack.services.grafana
    files = {
        f"{FOLDER}/grafana.ini": render_ini(grafana),
        DATASOURCES_FILE: render_datasources(stack),
        PROVIDERS_FILE: render_providers(grafana),
    }
    for target, source in dashboard_files(grafana, matches).items():
        files[target] = normalized_dashboard(assets[source])
    return files


def normalized_dashboard(raw: bytes) -> bytes:
    """The dashboard as authored (the checks have parsed it), with \n line endings and a final
    newline. Not re-indented: reviewers see the author's layout (Grafana's export already
    indents), and re-encoding 300 dashboards with json's pure-Python indenter costs ~0.4 s."""
    text = raw.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    return text if text.endswith(b"\n") else text + b"\n"


def secret_env(ref: SecretRef, variable: str) -> dict[str, str]:
    """Environment entries that hand a secret to Grafana without writing it anywhere."""
    if ref.env is not None:
        return {
            variable: f"${{{ref.env}:?set {ref.env} in the .env file next to docker-compose.yml}}"
        }
    return {f"{variable}__FILE": f"/run/secrets/{variable.lower()}"}


def compose_parts(stack: Stack, files: Mapping[str, bytes]) -> KindParts:
    g = stack.services.grafana
    env: dict[str, str] = {}
    if g.admin_user is not None:
        env["GF_SECURITY_ADMIN_USER"] = g.admin_user
    if g.admin_password is not None:
        env.update(secret_env(g.admin_password, "GF_SECURITY_ADMIN_PASSWORD"))
    if g.container_port != DEFAULT_PORT:  # Grafana listens where container_port says
        env["GF_SERVER_HTTP_PORT"] = str(g.container_port)
    if g.config_dir != CONFIG_DIR:
        env["GF_PATHS_CONFIG"] = f"{g.config_dir}/grafana.ini"
        env["GF_PATHS_PROVISIONING"] = f"{g.config_dir}/provisioning"
    # grafana.ini's $__env{VAR} and the provisioning files' variables read the container's
    # environment: hand those variables in (from the host's .env).
    provisioning = (
        files.get(DATASOURCES_FILE, b"").decode() + files.get(PROVIDERS_FILE, b"").decode()
    )
    referenced = {
        name
        for groups in _PROVISIONING_REF.findall(provisioning)
        if not (name := next(g for g in groups if g)).startswith("__")
    }
    for name in sorted(set(ini_env_references(g)) | referenced):
        env[name] = f"${{{name}:?set {name} in the .env file next to docker-compose.yml}}"
    if g.plugins:
        env["GF_INSTALL_PLUGINS"] = ",".join(sorted(g.plugins))
    mounts = []
    if g.admin_password is not None and g.admin_password.file is not None:
        mounts.append(f"{g.admin_password.file}:/run/secrets/gf_security_admin_password:ro")
    # Grafana reads grafana.ini and provisioning only at start: their hash is in a label, so
    # a change recreates the container. Dashboards are re-read while it runs.
    restart = {
        k: v for k, v in files.items() if k.startswith(f"{FOLDER}/") and "/dashboards/" not in k
    }
    return KindParts(
        command=list(g.extra_flags),
        ready_path="/api/health",
        config_mount=(FOLDER, g.config_dir),
        data_dir=DATA_DIR,
        environment=env,
        mounts=mounts,
        restart_files=restart,
    )
