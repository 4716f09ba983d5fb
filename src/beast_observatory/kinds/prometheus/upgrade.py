"""What crossing Prometheus releases means, for the plan (pure): the upgrade notes of 2 -> 3
and the way back that would not open the data.

Source: the Prometheus 3 migration guide (https://prometheus.io/docs/prometheus/latest/migration/).
"""

from __future__ import annotations

from beast_observatory.kinds.prometheus.versions import MIGRATION_URL, TSDB_READERS, V3
from beast_observatory.kinds.versions import Crossing, Version

UPGRADE_3 = (
    "the TSDB is kept, but once Prometheus 3 wrote it only 2.55 or newer can read it: roll "
    "back only to v2.55+ (or upgrade to v2.55 first)",
    "removed flags and feature flags: validate rewrites or refuses them",
    "a target that sends no valid Content-Type fails its scrape (fallback_scrape_protocol "
    "sets one); UTF-8 metric and label names are accepted",
    'PromQL: "." in regular expressions matches newlines, range selectors leave out the '
    'sample on their left edge, le/quantile values are stored as floats (le="1.0"), '
    "holt_winters is double_exponential_smoothing behind a feature flag",
    "remote_write no longer uses HTTP/2 unless enable_http2: true; Alertmanager's API v1 is gone",
)


def upgrade_notes(before: str, after: str, old: Version, new: Version) -> Crossing:
    head = f"prometheus {before} -> {after}"
    if old < V3 <= new:
        return Crossing(
            (
                f"{head}: a major upgrade (see {MIGRATION_URL})",
                *(f"upgrade note: {note}" for note in UPGRADE_3),
            )
        )
    if new < V3 <= old:
        reasons = (f"{head}: back to Prometheus 2 (see {MIGRATION_URL})",)
        if new < TSDB_READERS:
            blocker = (
                f"prometheus {before} -> {after}: a TSDB written by Prometheus 3 is read only "
                f"by 2.55 or newer: {after} would not open the data (pin v2.55+)"
            )
            return Crossing(reasons, (blocker,))
        return Crossing(reasons)
    return Crossing()


__all__ = ["UPGRADE_3", "upgrade_notes"]
