"""What apply takes from the probe's inventory of the host (pure): the live files of the deploy
directory, the release they came from, the Docker report, the targets that were down.

The one place the deploy code reads an inventory, so that it reads it one way.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.deploy.releases import Release, release_path
from beast_observatory.host.probe.inventory import Inventory
from beast_observatory.names import KIND_LABEL, MANIFEST

_RELEASE_MANIFEST = re.compile(r"releases/([^./][^/]*)/manifest\.json")


@dataclass(frozen=True)
class Deployed:
    """The deploy directory as the probe saw it, under the host lock."""

    directory: str
    hashes: dict[str, str] = field(default_factory=dict)  # path -> sha256, every file seen
    files: frozenset[str] = frozenset()  # what the live manifest lists: deployed by us
    previous: Release | None = None  # the release the live files came from
    docker: Mapping[str, Any] = field(default_factory=dict)  # the probe's report on Docker

    @classmethod
    def of(cls, inventory: Inventory, directory: str) -> Deployed:
        records = inventory.deploy_files(directory)
        hashes = {path: r.sha256 for path, r in records.items() if r.sha256}
        manifest = records.get(MANIFEST)
        return cls(
            directory,
            hashes,
            manifest_files(manifest.content if manifest else None),
            live_release(directory, hashes),
            dataclasses.asdict(inventory.docker),
        )


def manifest_files(content: str | bytes | None) -> frozenset[str]:
    """The paths a manifest.json lists."""
    try:
        files = json.loads(content or "{}").get("files") or {}
    except (ValueError, AttributeError):
        return frozenset()
    return frozenset(str(p) for p in files) if isinstance(files, dict) else frozenset()


def live_release(directory: str, hashes: Mapping[str, str]) -> Release | None:
    """The release the live files came from: the newest one whose manifest is the live one.

    Not simply the newest release: a release promtool rejected, or one that failed
    verification and was rolled back, is newer than what runs and must never be rolled back to.
    """
    live = hashes.get(MANIFEST)
    names = sorted(
        m.group(1)
        for rel, digest in hashes.items()
        if live and digest == live and (m := _RELEASE_MANIFEST.fullmatch(rel))
    )
    return Release(names[-1], release_path(directory, names[-1])) if names else None


def down_targets(inventory: Inventory, project: str) -> frozenset[tuple[str, str]]:
    """(scrape pool, address) of the targets the project's Prometheus did not report up in
    the probe before the apply (down, or not scraped yet)."""
    from beast_observatory.deploy.verify import target_key  # noqa: PLC0415 - verify imports this

    down = set()
    for c in inventory.project(project):
        if c.labels.get(KIND_LABEL, c.service) != "prometheus":
            continue
        answer = inventory.api(c, "/api/v1/targets")
        body = answer.body if answer else None
        data = body.get("data") if isinstance(body, dict) else None
        for t in (data or {}).get("activeTargets") or [] if isinstance(data, dict) else []:
            if t.get("health") != "up":
                down.add(target_key(t))
    return frozenset(down)
