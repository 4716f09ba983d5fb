"""Semantic comparison of generated files with the host's copies (pure)."""

from __future__ import annotations

import configparser
import difflib
import json
import re
from typing import Any

from beast_observatory.secret_rules import URL_PASSWORD, is_reference
from beast_observatory.secret_rules import is_secret_name as secret_key
from beast_observatory.spec.config_view import flatten
from beast_observatory.yamlio import YamlError, load_yaml

# Files in a deploy directory that are not part of a release.
HOST_ONLY = re.compile(
    r"^(\.env|manifest\.json|\.observatory.*|releases/.*|\.releases/.*|state\.json)$"
)
# "key: value", "key = value", "- KEY=value", '"key": "value",': the key (group 2) is judged by
# secret_rules.is_secret_name, the rule set of the spec checks and the probe.
_SECRET_LINE = re.compile(r"^(\s*(?:-\s+)?[\"']?([A-Za-z_][\w.-]*)[\"']?\s*[:=]\s*)(\S.*)$")
_BCRYPT = re.compile(r"\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}")


def parse_content(path: str, text: str) -> Any:
    """Parsed value of a file for comparison; key order and formatting are not drift."""
    try:
        if path.endswith((".yml", ".yaml")):
            return load_yaml(text, path)
        if path.endswith(".json"):
            return json.loads(text)
        if path.endswith(".ini"):
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            parser.read_string(text)
            return {s: dict(parser.items(s)) for s in parser.sections()}
    except (YamlError, ValueError, configparser.Error):
        return text
    return text


def same_content(path: str, desired: str, live: str) -> bool:
    return desired == live or parse_content(path, desired) == parse_content(path, live)


def _shown_value(value: str) -> bool:
    """A value that may be shown: a reference to the secret, not the secret."""
    bare = value.strip().rstrip(",").strip().strip("\"'")
    return "${" in value or is_reference(bare)


def _mask_url_password(m: re.Match[str]) -> str:
    return m.group(0) if is_reference(m.group(2)) else f"{m.group(1)}<masked>@"


def mask_secrets(text: str) -> str:
    """Hide values of secret keys, passwords of URLs (scheme://user:<masked>@host) and bcrypt
    hashes in text shown to people."""
    out = []
    for line in text.splitlines():
        m = _SECRET_LINE.match(line)
        shown = (
            f"{m.group(1)}<masked>" + ("," if m.group(3).rstrip().endswith(",") else "")
            if m and secret_key(m.group(2)) and not _shown_value(m.group(3))
            else URL_PASSWORD.sub(_mask_url_password, line)
        )
        out.append(_BCRYPT.sub("<masked bcrypt hash>", shown))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def unified_diff(path: str, live: str | None, desired: str | None) -> str:
    a = mask_secrets(live or "").splitlines(keepends=True)
    b = mask_secrets(desired or "").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, fromfile=f"host/{path}", tofile=f"spec/{path}", n=2)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _fmt(value: Any) -> str:
    return (
        "(unset)" if value is None else json.dumps(value) if not isinstance(value, str) else value
    )


def prometheus_summary(live: Any, desired: Any) -> list[str]:
    """Operator words for a prometheus.yml change: jobs added/removed/changed, globals."""
    if not isinstance(live, dict) or not isinstance(desired, dict):
        return ["prometheus.yml replaced"]
    notes = []
    lg, dg = dict(flatten(live.get("global") or {})), dict(flatten(desired.get("global") or {}))
    for key in sorted(set(lg) | set(dg)):
        if lg.get(key) != dg.get(key):
            notes.append(f"global.{key} {_fmt(lg.get(key))} -> {_fmt(dg.get(key))}")
    ljobs = {j.get("job_name"): j for j in live.get("scrape_configs") or [] if isinstance(j, dict)}
    djobs = {
        j.get("job_name"): j for j in desired.get("scrape_configs") or [] if isinstance(j, dict)
    }
    for name in sorted(set(djobs) - set(ljobs), key=str):
        notes.append(f"adds scrape job {name} ({_target_count(djobs[name])} targets)")
    for name in sorted(set(ljobs) - set(djobs), key=str):
        notes.append(f"removes scrape job {name}")
    for name in sorted(set(ljobs) & set(djobs), key=str):
        lf, df = dict(flatten(ljobs[name])), dict(flatten(djobs[name]))
        changed = [
            f"{k} {_fmt(lf.get(k))} -> {_fmt(df.get(k))}"
            for k in sorted(set(lf) | set(df))
            if lf.get(k) != df.get(k)
        ]
        if changed:
            notes.append(f"changes scrape job {name}: " + "; ".join(changed))
    for key in ("rule_files", "alerting"):
        if live.get(key) != desired.get(key):
            notes.append(f"{key} changed")
    return notes or ["prometheus.yml reformatted"]


def _target_count(job: dict[str, Any]) -> int:
    return sum(
        len(sc.get("targets") or [])
        for sc in job.get("static_configs") or []
        if isinstance(sc, dict)
    )


def env_names(text: str | None) -> set[str]:
    """The variables a .env sets (its values are never needed, nor read)."""
    names = set()
    for line in (text or "").splitlines():
        m = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names


def missing_secrets(example: bytes | None, env_text: str | None) -> tuple[str, ...]:
    """What .env.example lists and the host's .env does not set."""
    wanted = env_names((example or b"").decode("utf-8", "replace"))
    return tuple(sorted(wanted - env_names(env_text)))
