"""Grafana's provisioning file formats, checked against its documentation: the test oracle
for the data source and dashboard provider files the tool renders.

https://grafana.com/docs/grafana/latest/administration/provisioning/
"""

from __future__ import annotations

from collections.abc import Collection

from beast_observatory.kinds.grafana.dashboards import (
    _BOOL_STRINGS,
    _URL_TYPES,
    Json,
    _at,
    _is_env_reference,
    _is_int,
    _json_type,
    _non_empty_string,
    check_uid,
)

# --- provisioning files ----------------------------------------------------------------

_Items = list[tuple[str, dict[str, Json]]]


def _check_provisioning_file(doc: Json, allowed: frozenset[str], what: str) -> list[str]:
    if not isinstance(doc, dict):
        return [f"(file): a {what} provisioning file must be a mapping, got {_json_type(doc)}"]
    version = doc.get("apiVersion")
    problems = (
        [] if _is_int(version) and version == 1 else [f"apiVersion: must be 1, got {version!r}"]
    )
    expected = ", ".join(sorted(allowed))
    return problems + [
        f"{key}: unknown key, Grafana ignores it (expected one of {expected})"
        for key in doc
        if key not in allowed
    ]


def _is_bool(value: Json) -> bool:
    # Provisioning booleans go through strconv.ParseBool after expansion (values.BoolValue).
    if isinstance(value, str):
        return value in _BOOL_STRINGS or _is_env_reference(value)
    return isinstance(value, bool)


def _check_typed(
    item: dict[str, Json], path: str, bools: Collection[str], ints: Collection[str]
) -> list[str]:
    problems = [
        f"{_at(path, key)}: must be true or false, got {_json_type(item[key])}"
        for key in bools
        if item.get(key) is not None and not _is_bool(item[key])
    ]
    return problems + [
        f"{_at(path, key)}: must be a non-negative integer, got {item[key]!r}"
        for key in ints
        if item.get(key) is not None
        and not ((_is_int(item[key]) and item[key] >= 0) or _is_env_reference(item[key]))
    ]


def _optional_uid(item: dict[str, Json], key: str, path: str) -> list[str]:
    value = item.get(key)
    if value is None or value == "" or _is_env_reference(value):
        return []
    return check_uid(value, f"{path}.{key}")


def _items(doc: dict[str, Json], key: str, *, required: bool) -> tuple[_Items, list[str]]:
    """The mappings listed under ``key`` with their paths, and problems with the list itself."""
    entries = doc.get(key)
    if entries is None:
        return [], [f"{key}: missing"] if required else []
    if not isinstance(entries, list):
        return [], [f"{key}: must be a list, got {_json_type(entries)}"]
    items = [(f"{key}[{i}]", entry) for i, entry in enumerate(entries) if isinstance(entry, dict)]
    return items, [
        f"{key}[{i}]: must be a mapping, got {_json_type(entry)}"
        for i, entry in enumerate(entries)
        if not isinstance(entry, dict)
    ]


def _check_unique(items: _Items, keys: Collection[str], scope: str | None) -> list[str]:
    """Problems for string values of ``keys`` repeated across items (within ``scope``'s value)."""
    problems = []
    first_at: dict[tuple[str, str, str], str] = {}
    for path, item in items:
        where = str(item.get(scope, 1)) if scope else ""
        for key in keys:
            value = item.get(key)
            if not isinstance(value, str) or not value:
                continue
            first = first_at.setdefault((key, where, value), path)
            if first != path:
                problems.append(f"{path}.{key}: {value!r} is already used by {first}")
    return problems


def check_datasources_provisioning(doc: object) -> list[str]:
    """Problems in a ``provisioning/datasources/*.yml`` file."""
    allowed = frozenset({"apiVersion", "datasources", "deleteDatasources", "prune"})
    problems = _check_provisioning_file(doc, allowed, "data source")
    if not isinstance(doc, dict):
        return problems
    items, list_problems = _items(doc, "datasources", required="deleteDatasources" not in doc)
    problems += list_problems
    for path, item in items:
        problems += _check_datasource(item, path)
    problems += _check_unique(items, ("name", "uid"), scope="orgId")
    defaults: dict[str, str] = {}
    for path, item in items:
        org = str(item.get("orgId", 1))
        if item.get("isDefault") is True and defaults.setdefault(org, path) != path:
            problems.append(
                f"{path}.isDefault: {defaults[org]} is already the default data source of "
                f"organization {org}; Grafana allows one"
            )
    deletes, delete_problems = _items(doc, "deleteDatasources", required=False)
    for path, item in deletes:
        delete_problems += _non_empty_string(item, "name", f"{path}.name")
        delete_problems += _check_typed(item, path, (), ("orgId",))
    return problems + delete_problems + _check_typed(doc, "", ("prune",), ())


def _check_datasource(item: dict[str, Json], path: str) -> list[str]:
    problems = _non_empty_string(item, "name", f"{path}.name")
    problems += _non_empty_string(item, "type", f"{path}.type")
    # Documented as required, but Grafana's reader makes a missing access proxy
    # (validateAccessAndOrgID, pkg/services/provisioning/datasources/config_reader.go).
    if item.get("access", "proxy") not in ("proxy", "direct"):
        problems.append(f"{path}.access: must be proxy or direct, got {item.get('access')!r}")
    kind = item.get("type")
    if isinstance(kind, str) and kind in _URL_TYPES and not isinstance(item.get("url"), str):
        problems.append(f"{path}.url: a {kind} data source needs the URL of its server")
    problems += _optional_uid(item, "uid", path)
    bools = ("isDefault", "editable", "basicAuth", "withCredentials")
    problems += _check_typed(item, path, bools, ("orgId", "version"))
    problems += [
        f"{path}.{key}: must be a mapping, got {_json_type(item[key])}"
        for key in ("jsonData", "secureJsonData")
        if not isinstance(item.get(key, {}), dict)
    ]
    return problems + _check_secrets(item, path)


def _check_secrets(item: dict[str, Json], path: str) -> list[str]:
    secure = item.get("secureJsonData")
    values = secure.items() if isinstance(secure, dict) else []
    secrets = [(f"{path}.secureJsonData.{key}", value) for key, value in values]
    # Top-level passwords are the deprecated clear-text forms of secureJsonData's.
    legacy = ("password", "basicAuthPassword")
    secrets += [(f"{path}.{key}", item[key]) for key in legacy if key in item]
    return [
        f"{where}: a secret in clear; write a reference such as $GRAFANA_DS_PASSWORD or "
        "$__file{/run/secrets/name} and provide the value at deploy time"
        for where, value in secrets
        if value not in (None, "") and not _is_env_reference(value)
    ]


def check_dashboard_providers(doc: object) -> list[str]:
    """Problems in a ``provisioning/dashboards/*.yml`` file."""
    problems = _check_provisioning_file(doc, frozenset({"apiVersion", "providers"}), "dashboard")
    if not isinstance(doc, dict):
        return problems
    items, list_problems = _items(doc, "providers", required=True)
    problems += list_problems
    for path, item in items:
        problems += _check_provider(item, path)
    # Grafana logs "the same folder UID is used more than once" and mixes the folders up.
    return problems + _check_unique(items, ("name", "folderUid"), scope=None)


def _check_provider(item: dict[str, Json], path: str) -> list[str]:
    problems = _non_empty_string(item, "name", f"{path}.name")
    if item.get("type", "file") != "file":
        problems.append(f"{path}.type: must be file, the only provider type, got {item['type']!r}")
    if not isinstance(item.get("folder", ""), str):
        problems.append(f"{path}.folder: must be a string, got {_json_type(item['folder'])}")
    problems += _optional_uid(item, "folderUid", path)
    bools = ("disableDeletion", "allowUiUpdates", "editable")
    problems += _check_typed(item, path, bools, ("orgId", "updateIntervalSeconds"))
    options = item.get("options")
    if not isinstance(options, dict):
        return [*problems, f"{path}.options: must be a mapping with the `path` of the dashboards"]
    problems += _non_empty_string(options, "path", f"{path}.options.path")
    problems += _check_typed(options, f"{path}.options", ("foldersFromFilesStructure",), ())
    in_folder = item.get("folder") or item.get("folderUid")
    if options.get("foldersFromFilesStructure") is True and in_folder:
        problems.append(
            f"{path}.options.foldersFromFilesStructure: needs folder and folderUid empty, "
            "the folders come from the directories under options.path"
        )
    return problems
