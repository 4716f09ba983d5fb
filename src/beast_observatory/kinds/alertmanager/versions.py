"""What Alertmanager releases read differently, for the renderer, the checks and the plan
(pure). Alertmanager is still 0.x: its minor releases are where things are removed.

Source: https://github.com/prometheus/alertmanager/blob/main/CHANGELOG.md
"""

from __future__ import annotations

from beast_observatory.kinds.alertmanager.model import Alertmanager
from beast_observatory.kinds.versions import Crossing, Version, target_version
from beast_observatory.spec.checks import Problem, warning

# The release of the model's default image.
NEWEST = Version(0, 34, 1)
CHANGELOG_URL = "https://github.com/prometheus/alertmanager/blob/main/CHANGELOG.md"
# 0.33 removed this feature flag (without effect since 0.29); Alertmanager refuses an
# unknown feature at start.
REMOVED_FEATURES = {"auto-gomaxprocs": Version(0, 33)}
# Releases whose changes a person upgrading across them should know about.
NOTABLE = (
    (
        Version(0, 27),
        "API v1 is gone (/api/v1/* answers 410: amtool, Prometheus' api_version and other "
        "clients must use v2); matchers are read by the new UTF-8 parser, falling back to the "
        "old one with a warning in the log",
    ),
    (
        Version(0, 33),
        "--enable-feature=auto-gomaxprocs is refused (GOMAXPROCS follows the CPU quota anyway)",
    ),
    (
        Version(0, 34),
        'alertmanager_notifications_failed_total says reason="authError" (401/403) and '
        '"rateLimited" (429) where it said "clientError": update alerts and dashboards on it',
    ),
)


def alertmanager_version(am: Alertmanager) -> Version | None:
    return target_version(am.image, am.image_version)


def _features(value: str, version: Version) -> tuple[str | None, list[str]]:
    """--enable-feature's value for the release, and the features left out."""
    kept: list[str] = []
    dropped: list[str] = []
    for feature in (f.strip() for f in value.split(",") if f.strip()):
        removed = REMOVED_FEATURES.get(feature)
        (dropped if removed is not None and version >= removed else kept).append(feature)
    return (",".join(kept) if kept else None), dropped


def flags_for(am: Alertmanager) -> tuple[list[str], list[Problem]]:
    """extra_flags as the target release reads them, and a warning for each rewrite (an
    unknown release: as written)."""
    version = alertmanager_version(am)
    if version is None:
        return list(am.extra_flags), []
    flags: list[str] = []
    problems: list[Problem] = []
    for i, flag in enumerate(am.extra_flags):
        name, _, value = flag.partition("=")
        if name != "--enable-feature" or not value:
            flags.append(flag)
            continue
        kept, dropped = _features(value, version)
        if kept is not None:
            flags.append(f"{name}={kept}")
        problems += [
            warning(
                ("services", "alertmanager", "extra_flags", i),
                f"feature flag {feature} was removed in Alertmanager "
                f"{REMOVED_FEATURES[feature].major}.{REMOVED_FEATURES[feature].minor}, which "
                "refuses it at start: not written",
                hint=f"remove it from extra_flags (see {CHANGELOG_URL})",
            )
            for feature in dropped
        ]
    return flags, problems


def version_problems(am: Alertmanager) -> list[Problem]:
    return flags_for(am)[1] if am.enabled else []


def upgrade_notes(before: str, after: str, old: Version, new: Version) -> Crossing:
    low, high = min(old, new), max(old, new)
    crossed = [note for release, note in NOTABLE if low < release <= high]
    if not crossed:
        return Crossing()
    way = "an upgrade" if new > old else "a downgrade"
    return Crossing(
        (
            f"alertmanager {before} -> {after}: {way} across {len(crossed)} release(s) "
            f"with breaking changes (see {CHANGELOG_URL})",
            *(f"upgrade note: {note}" for note in crossed),
        )
    )


__all__ = ["NEWEST", "alertmanager_version", "flags_for", "upgrade_notes", "version_problems"]
