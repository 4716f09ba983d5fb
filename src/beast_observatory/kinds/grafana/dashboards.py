"""Pure checks of Grafana's dashboard JSON (the provisioning files' own format is checked by
the tests, against Grafana's documentation: tests/kinds/grafana/provisioning_format.py).

Grafana provisions dashboards of any schemaVersion (the old ``rows`` layout included),
without uid, without gridPos, with data sources named by name: ``dashboard_errors`` is what
it refuses (no title, not an object); ``check_dashboard`` is everything else worth a warning.

Every check takes a value the caller has already parsed (``json.loads``, ``yaml.safe_load``)
and returns a list of problems, each starting with the JSON path it is about
(``panels[3].gridPos.w: ...``); an empty list means the document is fine. No IO here.

What Grafana expects, and where it says so:

- Dashboard JSON model (uid, 24-column ``gridPos`` grid, ``templating``, integer
  ``schemaVersion``): https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
- UIDs: letters, digits, ``-`` and ``_``, at most 40 characters: ``IsValidShortUID`` and
  ``IsShortUIDTooLong`` in Grafana's ``pkg/util/shortid_generator.go``.
- Provisioning of data sources and dashboard providers (``apiVersion: 1``, required fields,
  one default data source per organization, ``foldersFromFilesStructure`` wants ``folder``
  and ``folderUid`` empty): https://grafana.com/docs/grafana/latest/administration/provisioning/
- Values in provisioning files are expanded from ``$VAR``/``${VAR}`` and the ``$__env{}``,
  ``$__file{}`` and ``$__vault{}`` expanders (same page, "Using environment variables", and
  ``interpolateValue`` in ``pkg/services/provisioning/values/values.go``); that is how a
  secret stays out of the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

MAX_UID_LENGTH = 40
GRID_COLUMNS = 24

_UID_CHARS = re.compile(r"[a-zA-Z0-9_-]+")
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
_INPUT_PLACEHOLDER = re.compile(r"\$\{?(DS_\w+)")
_ENV_REFERENCE = re.compile(r"\$(?:\{[A-Za-z_]\w*\}|[A-Za-z_]\w*|__(?:env|file|vault)\{[^}]+\})")
# strconv.ParseBool: provisioning booleans may be strings (values.BoolValue).
_BOOL_STRINGS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false"})
# Grafana's own pseudo data sources: annotations and queries may name them, no one provisions them.
_BUILTIN_DATASOURCES = frozenset({"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --"})
# Data source types that query a server over HTTP and so cannot work without `url`.
_URL_TYPES = frozenset(
    {"prometheus", "alertmanager", "loki", "tempo", "jaeger", "zipkin", "graphite", "influxdb"}
)

Json = Any  # a value from json.loads / yaml.safe_load: checked with isinstance before use


@dataclass(frozen=True)
class DatasourceRef:
    """One data source reference in a dashboard, where it is and what it names.

    ``kind`` is ``uid`` (a concrete uid), ``variable`` (``$ds``/``${ds}``: the value is the
    variable's name, to accept when the dashboard or caller defines it) or ``name`` (the
    legacy pre-uid form naming the data source by its display name).
    """

    path: str
    kind: Literal["uid", "variable", "name"]
    value: str


# --- small helpers ---------------------------------------------------------------------


def _json_type(value: Json) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string"}
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), type(value).__name__)


def _is_int(value: Json) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_env_reference(value: Json) -> bool:
    return isinstance(value, str) and _ENV_REFERENCE.fullmatch(value) is not None


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _variable_name(value: str) -> str | None:
    match = _VARIABLE.fullmatch(value)
    return next((group for group in match.groups() if group), None) if match else None


def _non_empty_string(parent: dict[str, Json], key: str, path: str) -> list[str]:
    value = parent.get(key)
    if value is None:
        return [f"{path}: missing"]
    if not isinstance(value, str):
        return [f"{path}: must be a string, got {_json_type(value)}"]
    if not value.strip():
        return [f"{path}: must not be empty"]
    return []


def check_uid(value: object, path: str) -> list[str]:
    """Problems with a Grafana UID (dashboard, data source or folder)."""
    if not isinstance(value, str):
        return [f"{path}: must be a string, got {_json_type(value)}"]
    if not value:
        return [f"{path}: must not be empty"]
    if len(value) > MAX_UID_LENGTH:
        return [f"{path}: {value!r} has {len(value)} characters; Grafana allows at most 40"]
    if not _UID_CHARS.fullmatch(value):
        return [f"{path}: {value!r} may only contain letters, digits, '-' and '_'"]
    return []


# --- dashboards ------------------------------------------------------------------------


def dashboard_errors(doc: object) -> list[str]:
    """What keeps Grafana from provisioning the dashboard at all."""
    if not isinstance(doc, dict):
        return [f"(dashboard): must be a JSON object, got {_json_type(doc)}"]
    return _non_empty_string(doc, "title", "title")


def check_dashboard(doc: object) -> list[str]:
    """What Grafana accepts but may render other than meant, or not keep across deploys
    (warnings; ``dashboard_errors`` says what it refuses)."""
    if not isinstance(doc, dict):
        return []
    problems: list[str] = []
    uid = doc.get("uid")
    if uid is None:
        problems.append("uid: missing; a stable uid keeps the dashboard's URL across deploys")
    else:
        problems += check_uid(uid, "uid")
    if not _is_int(version := doc.get("schemaVersion")):
        problems.append(f"schemaVersion: must be an integer, got {_json_type(version)}")
    problems += _check_panels(doc.get("panels"))
    problems += _check_templating(doc.get("templating"))
    problems += _check_placeholders(doc)
    problems += _check_datasource_fields(doc)
    return problems


def walk_panels(panels: Json, path: str) -> Iterator[tuple[str, Json]]:
    """Every panel entry with its path, including the panels that rows hold."""
    if not isinstance(panels, list):
        return
    for index, panel in enumerate(panels):
        panel_path = f"{path}[{index}]"
        yield panel_path, panel
        if isinstance(panel, dict):
            yield from walk_panels(panel.get("panels"), f"{panel_path}.panels")


def _check_panels(panels: Json) -> list[str]:
    if not isinstance(panels, list):
        return [f"panels: must be an array of panels, got {_json_type(panels)}"]
    problems: list[str] = []
    first_with_id: dict[int, str] = {}
    for path, panel in walk_panels(panels, "panels"):
        if not isinstance(panel, dict):
            problems.append(f"{path}: must be an object, got {_json_type(panel)}")
            continue
        problems += _check_panel(panel, path)
        panel_id = panel.get("id")
        if _is_int(panel_id) and panel_id in first_with_id:
            problems.append(
                f"{path}.id: {panel_id} is also the id of {first_with_id[panel_id]}; "
                "panel ids must be unique in a dashboard"
            )
        elif _is_int(panel_id):
            first_with_id[panel_id] = path
    return problems


def _check_panel(panel: dict[str, Json], path: str) -> list[str]:
    problems = []
    if not _is_int(panel.get("id")):
        problems.append(f"{path}.id: must be an integer, got {_json_type(panel.get('id'))}")
    problems += _non_empty_string(panel, "type", f"{path}.type")
    problems += _check_grid_pos(panel.get("gridPos"), f"{path}.gridPos")
    if "panels" in panel and not isinstance(panel["panels"], list):
        problems.append(f"{path}.panels: must be an array, got {_json_type(panel['panels'])}")
    return problems + _check_targets(panel.get("targets"), f"{path}.targets")


def _check_grid_pos(pos: Json, path: str) -> list[str]:
    if not isinstance(pos, dict):
        return [f"{path}: must be an object with integers h, w, x and y, got {_json_type(pos)}"]
    wrong = [(key, pos.get(key)) for key in ("h", "w", "x", "y") if not _is_int(pos.get(key))]
    if wrong:
        return [
            f"{path}.{key}: must be an integer, got {_json_type(value)}" for key, value in wrong
        ]
    h, w, x, y = pos["h"], pos["w"], pos["x"], pos["y"]
    problems = []
    if not 1 <= w <= GRID_COLUMNS:
        problems.append(f"{path}.w: {w} is outside 1..24 (the grid has 24 columns)")
    if not 0 <= x < GRID_COLUMNS:
        problems.append(f"{path}.x: {x} is outside 0..23 (the grid has 24 columns)")
    elif w >= 1 and x + w > GRID_COLUMNS:
        problems.append(f"{path}: x + w is {x + w}; the panel overflows the 24-column grid")
    if h < 1:
        problems.append(f"{path}.h: {h} must be at least 1")
    if y < 0:
        problems.append(f"{path}.y: {y} must not be negative")
    return problems


def _check_targets(targets: Json, path: str) -> list[str]:
    if targets is None:
        return []
    if not isinstance(targets, list):
        return [f"{path}: must be an array of queries, got {_json_type(targets)}"]
    problems = []
    first_with_ref: dict[str, int] = {}
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            problems.append(f"{path}[{index}]: must be an object, got {_json_type(target)}")
            continue
        ref = target.get("refId")
        if isinstance(ref, str) and ref in first_with_ref:
            first = f"{path}[{first_with_ref[ref]}]"
            problems.append(
                f"{path}[{index}].refId: {ref!r} is also the refId of {first}; "
                "queries of a panel need distinct refIds"
            )
        elif isinstance(ref, str):
            first_with_ref[ref] = index
    return problems


def _listed(container: Json, path: str) -> list[tuple[str, Json]]:
    """The entries of ``container["list"]`` (templating, annotations) with their paths."""
    entries = container.get("list") if isinstance(container, dict) else None
    if not isinstance(entries, list):
        return []
    return [(f"{path}.list[{i}]", entry) for i, entry in enumerate(entries)]


def _check_templating(templating: Json) -> list[str]:
    if templating is None:
        return []
    if not isinstance(templating, dict) or not isinstance(templating.get("list", []), list):
        return ["templating: must be an object whose `list` is an array of variables"]
    problems: list[str] = []
    seen: set[str] = set()
    for path, variable in _listed(templating, "templating"):
        if not isinstance(variable, dict):
            problems.append(f"{path}: must be an object, got {_json_type(variable)}")
            continue
        problems += _non_empty_string(variable, "name", f"{path}.name")
        problems += _non_empty_string(variable, "type", f"{path}.type")
        name = variable.get("name")
        if isinstance(name, str) and name in seen:
            problems.append(f"{path}.name: variable {name!r} is defined twice")
        elif isinstance(name, str):
            seen.add(name)
    return problems


def _defined_variables(doc: dict[str, Json]) -> set[str]:
    return {
        variable["name"]
        for _, variable in _listed(doc.get("templating"), "templating")
        if isinstance(variable, dict) and isinstance(variable.get("name"), str)
    }


def _walk_strings(value: Json, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_strings(item, _at(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_strings(item, f"{path}[{index}]")


def _check_placeholders(doc: dict[str, Json]) -> list[str]:
    # "Export for sharing externally" leaves ${DS_...} inputs that only the import dialog
    # fills in; a provisioned file is never imported, so they stay unresolved.
    problems = []
    if "__inputs" in doc:
        problems.append(
            "__inputs: the dashboard was exported for sharing externally; export it without "
            "that option so queries reference the data source by uid"
        )
    defined = _defined_variables(doc)
    for path, text in _walk_strings(doc, ""):
        for placeholder in _INPUT_PLACEHOLDER.findall(text):
            if placeholder not in defined:
                problems.append(f"{path}: unresolved import placeholder ${{{placeholder}}}")
    return problems


def _datasource_fields(doc: dict[str, Json]) -> Iterator[tuple[str, Json]]:
    """Every `datasource` field of the dashboard: panels, their queries, variables, annotations."""
    for path, panel in walk_panels(doc.get("panels"), "panels"):
        if not isinstance(panel, dict):
            continue
        if "datasource" in panel:
            yield f"{path}.datasource", panel["datasource"]
        targets = panel.get("targets")
        for index, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, dict) and "datasource" in target:
                yield f"{path}.targets[{index}].datasource", target["datasource"]
    listed = _listed(doc.get("templating"), "templating")
    for path, entry in listed + _listed(doc.get("annotations"), "annotations"):
        if isinstance(entry, dict) and "datasource" in entry:
            yield f"{path}.datasource", entry["datasource"]


def _ref_of(path: str, value: Json) -> DatasourceRef | None:
    if isinstance(value, dict):
        path, value = f"{path}.uid", value.get("uid")
        kind: Literal["uid", "name"] = "uid"
    else:
        kind = "name"
    if not isinstance(value, str) or value in _BUILTIN_DATASOURCES:
        return None
    variable = _variable_name(value)
    if variable is not None:
        return DatasourceRef(path, "variable", variable)
    return DatasourceRef(path, kind, value)


def dashboard_datasource_refs(doc: object) -> list[DatasourceRef]:
    """Every data source reference in a dashboard, except Grafana's built-in ones and `null`."""
    if not isinstance(doc, dict):
        return []
    refs = (_ref_of(path, value) for path, value in _datasource_fields(doc))
    return [ref for ref in refs if ref is not None]


def dashboard_datasource_uids(doc: object) -> set[str]:
    """The concrete data source uids a dashboard references (not variables, not names)."""
    return {ref.value for ref in dashboard_datasource_refs(doc) if ref.kind == "uid"}


def _check_datasource_fields(doc: dict[str, Json]) -> list[str]:
    problems = []
    for path, value in _datasource_fields(doc):
        if isinstance(value, dict) and not isinstance(value.get("uid"), str | None):
            problems.append(f"{path}.uid: must be a string, got {_json_type(value['uid'])}")
        elif not isinstance(value, dict | str | None):
            problems.append(f"{path}: must be an object {{type, uid}}, got {_json_type(value)}")
    defined = _defined_variables(doc)
    for ref in dashboard_datasource_refs(doc):
        if ref.kind == "name":
            problems.append(
                f"{ref.path}: names data source {ref.value!r} by name (the form before Grafana "
                '8.3); reference it by uid: {"type": ..., "uid": ...}'
            )
        # ${DS_...} import placeholders are reported by _check_placeholders.
        elif (
            ref.kind == "variable" and ref.value not in defined and not ref.value.startswith("DS_")
        ):
            problems.append(
                f"{ref.path}: uses variable ${ref.value}, which the dashboard's templating does "
                "not define"
            )
    return problems


def check_dashboard_datasources(doc: object, known_uids: Collection[str]) -> list[str]:
    """Problems for references to data source uids outside ``known_uids`` (the provisioned ones)."""
    known = ", ".join(sorted(known_uids)) or "none"
    return [
        f"{ref.path}: data source uid {ref.value!r} is not provisioned (provisioned: {known})"
        for ref in dashboard_datasource_refs(doc)
        if ref.kind == "uid" and ref.value not in known_uids
    ]
