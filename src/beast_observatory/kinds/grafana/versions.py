"""What Grafana 12 reads differently, for the checks and the plan (pure).

Sources: What's new in Grafana v12.0 (breaking changes) and Upgrade to Grafana v12.0,
https://grafana.com/docs/grafana/latest/upgrade-guide/upgrade-v12.0/
"""

from __future__ import annotations

import re
from typing import Any

from beast_observatory.kinds.grafana.dashboards import walk_panels
from beast_observatory.kinds.grafana.model import Grafana
from beast_observatory.kinds.versions import (
    Crossing,
    Version,
    image_repository,
    image_version,
    target_version,
)
from beast_observatory.spec.checks import Problem, SpecPath, warning

# The release of the model's default image.
NEWEST = Version(12, 4, 11)
V12 = Version(12)
UPGRADE_URL = "https://grafana.com/docs/grafana/latest/upgrade-guide/upgrade-v12.0/"
# grafana/grafana-oss gets no images from 12.4 on: grafana/grafana is the same OSS build.
LAST_OSS_REPO = Version(12, 4)
# grafana.ini settings Grafana 12 removed (it ignores them).
REMOVED_INI = {
    ("users", "editors_can_admin"): "editors can no longer administer teams through it",
    ("security", "angular_support_enabled"): "Angular support is gone",
}
# Panels of Grafana's own Angular plugins, and the panel Grafana 12 turns each into on load.
ANGULAR_PANELS = {
    "graph": "timeseries",
    "singlestat": "stat",
    "table-old": "table",
    "grafana-singlestat-panel": "stat",
    "grafana-piechart-panel": "piechart",
    "grafana-worldmap-panel": "geomap",
}
# Grafana 12 provisions a data source only with such a uid (failWrongDSUID is always on).
DATASOURCE_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def grafana_version(g: Grafana) -> Version | None:
    return target_version(g.image, g.image_version)


def _image_problems(g: Grafana) -> list[Problem]:
    tagged = image_version(g.image)
    oss_repo = image_repository(g.image).endswith("grafana/grafana-oss")
    if not oss_repo or (tagged is not None and tagged < LAST_OSS_REPO):
        return []
    return [
        warning(
            ("services", "grafana", "image"),
            f"{g.image}: the grafana/grafana-oss repository gets no images from Grafana 12.4 on",
            hint="use grafana/grafana (the same OSS build), e.g. grafana/grafana:"
            f"{NEWEST.major}.{NEWEST.minor}.{NEWEST.patch}",
        )
    ]


def version_problems(g: Grafana) -> list[Problem]:
    """grafana.ini settings and data source uids Grafana 12 reads differently, and the image
    repository that stopped at 12.3."""
    problems = _image_problems(g)
    version = grafana_version(g)
    if version is None or version < V12:
        return problems
    for (section, key), why in sorted(REMOVED_INI.items()):
        if key in g.ini.get(section, {}):
            problems.append(
                warning(
                    ("services", "grafana", "ini", section, key),
                    f"[{section}] {key} was removed in Grafana 12 ({why}): Grafana ignores it",
                    hint=f"remove it (see {UPGRADE_URL})",
                )
            )
    for i, source in enumerate(g.datasources):
        if source.uid is not None and not DATASOURCE_UID.match(source.uid):
            where: SpecPath = ("services", "grafana", "datasources", i, "uid")
            problems.append(
                Problem(
                    where,
                    f"data source uid {source.uid!r}: Grafana 12 provisions only uids of "
                    "letters, digits, - and _ (up to 40)",
                    hint="give it such a uid and update the dashboards that use it "
                    f"(see {UPGRADE_URL})",
                )
            )
    return problems


def dashboard_notes(doc: Any, version: Version | None) -> list[str]:
    """Angular panels of a dashboard, which Grafana 12 replaces when it loads them."""
    if version is None or version < V12 or not isinstance(doc, dict):
        return []
    return [
        f"{path}: {panel['type']} is an Angular panel: Grafana 12 shows it as "
        f"{ANGULAR_PANELS[panel['type']]} (save the migrated dashboard)"
        for path, panel in walk_panels(doc.get("panels"), "panels")
        if isinstance(panel, dict) and panel.get("type") in ANGULAR_PANELS
    ]


UPGRADE_12 = (
    "Grafana migrates its database when it starts and cannot go back: back up the data "
    "volume first",
    "Angular plugins no longer load; graph, singlestat and table-old panels are shown as "
    "timeseries, stat and table",
    "data source uids must be letters, digits, - and _ (up to 40); editors_can_admin is gone",
)


def upgrade_notes(before: str, after: str, old: Version, new: Version) -> Crossing:
    head = f"grafana {before} -> {after}"
    if old < V12 <= new:
        return Crossing(
            (
                f"{head}: a major upgrade (see {UPGRADE_URL})",
                *(f"upgrade note: {note}" for note in UPGRADE_12),
            )
        )
    if new.major < old.major:
        return Crossing(
            (
                f"{head}: back to an older major version: Grafana does not migrate its "
                "database down; restore the data volume's backup from before the upgrade",
            )
        )
    return Crossing()


__all__ = ["NEWEST", "dashboard_notes", "grafana_version", "upgrade_notes", "version_problems"]
