"""What Prometheus 2 and 3 read differently, for the renderer, the checks and the plan (pure).

Sources: the Prometheus 3 migration guide (https://prometheus.io/docs/prometheus/latest/migration/)
and the command-line reference of 3.x. Per flag, either the renderer writes what the target
release means by it (a warning says so, with what to write instead) or the spec is refused
(an error naming the flag and the upgrade note): a flag Prometheus 3 would refuse at start
is never written for it. An image whose release is unknown (a tag such as latest or a local
build's, and no image_version) gets its flags as written, and a warning when they mean
different things to 2.x and 3.x.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.kinds.prometheus.model import Prometheus
from beast_observatory.kinds.versions import Version, target_version
from beast_observatory.spec.checks import Problem, SpecPath, warning

# The release of the model's default image.
NEWEST = Version(3, 13, 3)
MIGRATION_URL = "https://prometheus.io/docs/prometheus/latest/migration/"
V3 = Version(3)
# A 3.x TSDB is read by 2.55 and newer only (the index format changed in 2.55).
TSDB_READERS = Version(2, 55)

# Feature flags Prometheus 3 made its default behaviour: given again, they only log a warning.
DEFAULT_IN_3 = {
    "promql-at-modifier": "the @ modifier is always on",
    "promql-negative-offset": "negative offsets are always on",
    "new-service-discovery-manager": "the new service discovery manager is the only one",
    "expand-external-labels": "$VAR in external labels is always expanded",
    "no-default-scrape-port": "targets keep the port they are given (none is added)",
    "auto-gomemlimit": "GOMEMLIMIT follows the container's memory limit (--no-auto-gomemlimit "
    "turns it off)",
    "auto-gomaxprocs": "GOMAXPROCS follows the container's CPU quota (--no-auto-gomaxprocs "
    "turns it off)",
    "utf8-names": "UTF-8 metric and label names are always accepted",
}
# Feature flags that became flags of their own in Prometheus 3 (and back, for 2.x).
BECAME_FLAGS = {
    "agent": "--agent",
    "remote-write-receiver": "--web.enable-remote-write-receiver",
    "otlp-write-receiver": "--web.enable-otlp-receiver",
}
ONLY_IN_3 = {"--agent": "agent", "--web.enable-otlp-receiver": "otlp-write-receiver"}
_OWN_FLAGS = frozenset(BECAME_FLAGS.values())
# Where the 2.x image kept its console libraries and templates; the 3.x image has neither.
OLD_CONSOLES = frozenset(
    {
        "/usr/share/prometheus/console_libraries",
        "/usr/share/prometheus/consoles",
        "/etc/prometheus/console_libraries",
        "/etc/prometheus/consoles",
    }
)
SCRAPE_KEY_3 = ("scrape_classic_histograms", "always_scrape_classic_histograms")


@dataclass(frozen=True)
class FlagNote:
    """What the renderer did with extra_flags[index] for the target release."""

    index: int
    message: str
    hint: str
    refused: bool = False


def prometheus_version(p: Prometheus) -> Version | None:
    return target_version(p.image, p.image_version)


def _name(flag: str) -> str:
    return flag.split("=", 1)[0]


def _mount_targets(p: Prometheus) -> list[str]:
    """Where the spec's own volumes are mounted in the container."""
    out = []
    for entry in p.volumes:
        if isinstance(entry, dict):
            target = entry.get("target")
        else:
            parts = str(entry).split(":")
            target = parts[1] if len(parts) > 1 else None
        if isinstance(target, str):
            out.append(target.rstrip("/"))
    return out


def _consoles_provided(path: str, p: Prometheus) -> bool:
    """The spec ships consoles at the path itself: a mount, or files of the config folder."""
    if any(path == t or path.startswith(t + "/") for t in _mount_targets(p)):
        return True
    root = p.config_dir.rstrip("/") + "/"
    inside = path[len(root) :].rstrip("/") + "/" if path.startswith(root) else None
    return inside is not None and any(f.startswith(inside) for f in p.files)


def _features_for_3(index: int, value: str) -> tuple[list[str], list[FlagNote]]:
    """--enable-feature=a,b for Prometheus 3: the kept features, the flags they became."""
    kept, flags, notes = [], [], []
    for feature in (f.strip() for f in value.split(",") if f.strip()):
        if feature in BECAME_FLAGS:
            flags.append(BECAME_FLAGS[feature])
            notes.append(
                FlagNote(
                    index,
                    f"feature flag {feature} is gone in Prometheus 3: written as "
                    f"{BECAME_FLAGS[feature]}",
                    f"write {BECAME_FLAGS[feature]} in extra_flags (see {MIGRATION_URL})",
                )
            )
        elif feature in DEFAULT_IN_3:
            notes.append(
                FlagNote(
                    index,
                    f"feature flag {feature} is the default in Prometheus 3 "
                    f"({DEFAULT_IN_3[feature]}): not written",
                    f"remove it from extra_flags (see {MIGRATION_URL})",
                )
            )
        else:
            kept.append(feature)
    if kept:
        flags.insert(0, f"--enable-feature={','.join(kept)}")
    return flags, notes


def _flag_for_3(index: int, flag: str, p: Prometheus) -> tuple[list[str], list[FlagNote]]:
    name, _, value = flag.partition("=")
    if name == "--enable-feature":
        return _features_for_3(index, value)
    if name == "--storage.tsdb.retention":
        return [flag], [
            FlagNote(
                index,
                f"{name} was removed in Prometheus 3 (it was the old name of "
                "--storage.tsdb.retention.time, which the tool writes itself)",
                f"give the time as services.prometheus.retention.time (see {MIGRATION_URL})",
                refused=True,
            )
        ]
    if name == "--storage.tsdb.allow-overlapping-blocks":
        why = "removed in Prometheus 3; overlapping blocks are always allowed since 2.39"
    elif name == "--alertmanager.timeout":
        why = "removed in Prometheus 3; it had no effect since 2.0 (the timeout is "
        why += "alerting.alertmanagers[].timeout)"
    elif name in ("--web.console.libraries", "--web.console.templates") and (
        value in OLD_CONSOLES and not _consoles_provided(value, p)
    ):
        why = f"{value} is not in the Prometheus 3 image, which ships no console libraries "
        why += "or templates"
    else:
        return [flag], []
    return [], [
        FlagNote(
            index,
            f"{name}: not written for Prometheus 3 ({why})",
            f"remove it from extra_flags (see {MIGRATION_URL})",
        )
    ]


def _flag_for_2(index: int, flag: str) -> tuple[list[str], list[FlagNote]]:
    name = _name(flag)
    if name not in ONLY_IN_3 or "=" in flag:
        return [flag], []
    written = f"--enable-feature={ONLY_IN_3[name]}"
    return [written], [
        FlagNote(
            index,
            f"{name} is a flag of Prometheus 3: written as {written} for Prometheus 2",
            "pin a 3.x image, or write the feature flag",
        )
    ]


def _joined(flags: list[str]) -> list[tuple[int, str]]:
    """(index of the first item, flag) with `--enable-feature X` joined as one flag."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(flags):
        flag = flags[i]
        if flag == "--enable-feature" and i + 1 < len(flags) and not flags[i + 1].startswith("-"):
            out.append((i, f"{flag}={flags[i + 1]}"))
            i += 2
            continue
        out.append((i, flag))
        i += 1
    return out


def flags_for(p: Prometheus) -> tuple[list[str], list[FlagNote]]:
    """extra_flags as the target release reads them, and what was rewritten or refused
    (an unknown release: as written)."""
    version = prometheus_version(p)
    if version is None:
        return list(p.extra_flags), []
    return flags_for_release(p, v3=version >= V3)


def flags_for_release(p: Prometheus, *, v3: bool) -> tuple[list[str], list[FlagNote]]:
    """extra_flags as Prometheus 3 (v3) or 2 reads them, and what was rewritten or refused."""
    if v3 and not any(_name(f) in _V3_REWRITTEN for f in p.extra_flags):
        return list(p.extra_flags), []
    if not v3 and not any(_name(f) in ONLY_IN_3 for f in p.extra_flags):
        return list(p.extra_flags), []
    flags: list[str] = []
    notes: list[FlagNote] = []
    for index, flag in _joined(list(p.extra_flags)):
        written, said = _flag_for_3(index, flag, p) if v3 else _flag_for_2(index, flag)
        notes += said
        flags += written
    # A flag given twice makes Prometheus refuse to start: --agent and the feature it was.
    return [f for i, f in enumerate(flags) if f not in _OWN_FLAGS or f not in flags[:i]], notes


_V3_REWRITTEN = frozenset(
    {
        "--enable-feature",
        "--storage.tsdb.retention",
        "--storage.tsdb.allow-overlapping-blocks",
        "--alertmanager.timeout",
        "--web.console.libraries",
        "--web.console.templates",
    }
)


def scrape_keys_for(job: Mapping[str, Any], version: Version | None) -> dict[str, Any]:
    """A rendered scrape config with the classic-histograms key of the target release."""
    if version is None:
        return dict(job)
    old, new = SCRAPE_KEY_3 if version >= V3 else SCRAPE_KEY_3[::-1]
    if old not in job or new in job:
        return dict(job)
    return {(new if k == old else k): v for k, v in job.items()}


# ----------------------------------------------------------------- checks

_HOLT_WINTERS = re.compile(r"\bholt_winters\s*\(")
_INTEGER_BUCKET = re.compile(r"\b(le|quantile)\s*=~?\s*\"(\d+)\"")
_EXPANDED = re.compile(r"(?<!\$)\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def _flag_problems(p: Prometheus) -> list[Problem]:
    _, notes = flags_for(p)
    return [
        Problem(
            ("services", "prometheus", "extra_flags", n.index),
            n.message,
            "error" if n.refused else "warning",
            n.hint,
        )
        for n in notes
    ]


def _job_problems(p: Prometheus, version: Version) -> list[Problem]:
    problems = []
    old, new = SCRAPE_KEY_3 if version >= V3 else SCRAPE_KEY_3[::-1]
    release = "3" if version >= V3 else "2"
    for i, job in enumerate(p.scrape_jobs):
        extras = job.extras()
        where: SpecPath = ("services", "prometheus", "scrape_jobs", i)
        if old in extras and new not in extras:
            problems.append(
                warning(
                    (*where, old),
                    f"Prometheus {release} calls {old} {new}: written as {new}",
                    hint=f"write {new} (see {MIGRATION_URL})",
                )
            )
        if version < V3 and "fallback_scrape_protocol" in extras:
            problems.append(
                Problem(
                    (*where, "fallback_scrape_protocol"),
                    "Prometheus 2 does not read fallback_scrape_protocol (a 3.0 key): it would "
                    "refuse the configuration",
                    hint="remove it, or pin a 3.x image",
                )
            )
    for i, am in enumerate(p.alerting.alertmanagers if p.alerting else []):
        if version >= V3 and str(am.get("api_version", "")).lower() == "v1":
            problems.append(
                Problem(
                    ("services", "prometheus", "alerting", "alertmanagers", i, "api_version"),
                    "Prometheus 3 no longer speaks Alertmanager's API v1",
                    hint=f"write api_version: v2 (Alertmanager 0.16 or newer; see {MIGRATION_URL})",
                )
            )
    return problems


def _label_problems(p: Prometheus, version: Version) -> list[Problem]:
    if version < V3 or "expand-external-labels" in " ".join(p.extra_flags):
        return []  # 2.x keeps a $ as it is; the feature flag asked for 3.x's expansion
    return [
        warning(
            ("services", "prometheus", "global", "external_labels", name),
            f"Prometheus 3 reads {match.group(0)} in external label {name!r} as an "
            "environment variable of the container (empty when unset)",
            hint="write $$ for a literal $",
        )
        for name, value in sorted(p.global_.external_labels.items())
        if (match := _EXPANDED.search(value))
    ]


def rule_expressions(groups: Any) -> list[tuple[str, str]]:
    """(where, expr) of every rule of a rule file's groups."""
    out = []
    for g, group in enumerate(groups if isinstance(groups, list) else []):
        rules = group.get("rules") if isinstance(group, dict) else None
        for r, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, dict) and isinstance(rule.get("expr"), str):
                name = rule.get("alert") or rule.get("record") or f"rules[{r}]"
                out.append((f"groups[{g}] {name}", rule["expr"]))
    return out


def rule_problems(
    where: SpecPath, label: str, groups: Any, version: Version | None
) -> list[Problem]:
    """What Prometheus 3 reads differently in one rule file."""
    if version is None or version < V3:
        return []
    problems = []
    for rule, expr in rule_expressions(groups):
        if _HOLT_WINTERS.search(expr):
            problems.append(
                Problem(
                    where,
                    f"{label}{rule}: holt_winters is gone in Prometheus 3",
                    hint="rename it double_exponential_smoothing and add "
                    f"--enable-feature=promql-experimental-functions (see {MIGRATION_URL})",
                )
            )
        if match := _INTEGER_BUCKET.search(expr):
            key, number = match.groups()
            problems.append(
                warning(
                    where,
                    f'{label}{rule}: Prometheus 3 stores {key}="{number}" as {key}="{number}.0", '
                    "so this matcher no longer matches",
                    hint=f'write {key}="{number}.0" (see {MIGRATION_URL})',
                )
            )
    return problems


def _unknown_release_problems(p: Prometheus) -> list[Problem]:
    """An image of unknown release whose flags Prometheus 2 and 3 read differently."""
    differ = sorted(
        {n.index for n in flags_for_release(p, v3=True)[1]}
        | {n.index for n in flags_for_release(p, v3=False)[1]}
    )
    if not differ:
        return []
    named = ", ".join(p.extra_flags[i] for i in differ)
    return [
        warning(
            ("services", "prometheus", "image"),
            f"{p.image}: its tag names no release, so extra_flags are written as given; "
            f"Prometheus 2 and 3 read {named} differently",
            hint="set services.prometheus.image_version (e.g. 2.53 or 3) to have them "
            f"written for that release (see {MIGRATION_URL})",
        )
    ]


def version_problems(p: Prometheus) -> list[Problem]:
    """Flags and configuration the target release reads differently (rules: rule_problems)."""
    version = prometheus_version(p)
    if version is None:
        return _unknown_release_problems(p)
    return [*_flag_problems(p), *_job_problems(p, version), *_label_problems(p, version)]


__all__ = [
    "MIGRATION_URL",
    "NEWEST",
    "FlagNote",
    "flags_for",
    "flags_for_release",
    "prometheus_version",
    "rule_problems",
    "scrape_keys_for",
    "version_problems",
]
