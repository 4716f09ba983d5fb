"""Drift of a host that beast-observatory does not manage yet (pure).

A stack made by hand keeps its files wherever its author put them, so comparing files path
by path says nothing. Instead the host is read back as a spec (``export``) and compared with
the desired spec in the spec's own terms: ``services.prometheus.retention.time: 21d -> 30d``.
Files referenced by the specs (rules, dashboards, the Alertmanager config) are compared by
their parsed content, not by where they live.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import Any

from beast_observatory.discover.export import export_spec
from beast_observatory.plan.files import parse_content
from beast_observatory.render.compose import LABEL
from beast_observatory.spec.config_view import MISSING, diff_configs, effective_config
from beast_observatory.spec.load import parse_spec
from beast_observatory.spec.resolve import Stack, resolve

SpecView = dict[str, Any]
_SERVICE_KEYS = ("prometheus", "pushgateway", "grafana", "alertmanager", "node_exporter")


def _content(path: str, data: bytes | None) -> Any:
    if data is None:
        return None
    return parse_content(path, data.decode("utf-8", "replace"))


def _dashboards(files: list[str], assets: Mapping[str, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in files:
        doc = _content(path, assets.get(path))
        key = (
            doc.get("uid") if isinstance(doc, dict) and doc.get("uid") else path.rsplit("/", 1)[-1]
        )
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k not in ("id", "version")}
        out[str(key)] = doc
    return out


def spec_view(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> SpecView:
    """What an environment runs, in spec terms, with referenced files by content."""
    view = effective_config(stack)
    for key in ("project", "environment", "host", "deploy_dir"):
        view.pop(key, None)
    services = view["services"]
    prom = services["prometheus"]
    prom["rule_files"] = {
        r["name"]: _content(r["path"], assets.get(r["path"]))
        if r.get("path")
        else {"groups": r["groups"]}
        for r in prom["rule_files"]
    }
    providers = {}
    for provider in services["grafana"]["dashboards"]:
        files = [p for ref in provider["files"] for p in matches.get(ref, ())]
        providers[provider["name"]] = {
            **{k: v for k, v in provider.items() if k != "files"},
            "dashboards": _dashboards(sorted(set(files)), assets),
        }
    services["grafana"]["dashboards"] = providers
    am = services["alertmanager"]
    if am.get("config_path"):
        am["config"] = _content(am["config_path"], assets.get(am["config_path"]))
    am.pop("config_path", None)
    for key in _SERVICE_KEYS:
        if not services[key].get("enabled", True):
            services[key] = {"enabled": False}
    return view


def match_files(refs: list[str], files: Mapping[str, bytes]) -> dict[str, tuple[str, ...]]:
    return {ref: tuple(sorted(p for p in files if fnmatch.fnmatch(p, ref))) for ref in refs}


def host_view(inventory: Mapping[str, Any], project: str, env_name: str) -> SpecView:
    """The host's stack read back as a spec (export), in the same terms as ``spec_view``."""
    exported = export_spec(inventory, project=project, environment=env_name)
    spec = parse_spec(exported.spec_text, "<exported from the host>")
    stack = resolve(spec, env_name)
    refs = [r.path for r in stack.services.prometheus.rule_files if r.path]
    refs += [f for p in stack.services.grafana.dashboards for f in p.files]
    if stack.services.alertmanager.config_path:
        refs.append(stack.services.alertmanager.config_path)
    return spec_view(stack, exported.files, match_files(refs, exported.files))


def is_unmanaged(inventory: Mapping[str, Any], live_files: Mapping[str, Any], project: str) -> bool:
    """The project runs on the host, but not from files this tool deployed."""
    if "manifest.json" in live_files:
        return False
    ours = [
        c
        for c in inventory.get("containers") or []
        if (c.get("labels") or {}).get("com.docker.compose.project") == project
    ]
    return bool(ours) and not any(f"{LABEL}.project" in (c.get("labels") or {}) for c in ours)


def adoption_drift(
    inventory: Mapping[str, Any], desired: SpecView, project: str, env_name: str
) -> dict[str, list[str]]:
    """Per service (or 'stack'), the spec paths whose live value differs from the spec."""
    live = host_view(inventory, project, env_name)
    out: dict[str, list[str]] = {}
    for path, was, wanted in diff_configs(live, desired):
        parts = path.split(".")
        owner = parts[1] if parts[0] == "services" and len(parts) > 1 else "stack"
        if owner == "extra" and len(parts) > 2:  # noqa: PLR2004 - services.extra.<name>
            owner = parts[2]
        out.setdefault(owner.replace("_", "-") if owner == "node_exporter" else owner, []).append(
            f"{path}: {_short(was)} -> {_short(wanted)}"
        )
    return out


def _short(value: Any) -> str:
    if value is MISSING:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004
