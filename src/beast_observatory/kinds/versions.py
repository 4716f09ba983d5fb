"""Which release of its program a service's image runs, and what crossing releases means
(pure).

The version comes from the image's tag (prom/prometheus:v3.13.3, grafana/grafana:12.4.11);
where the tag says nothing (latest, a local build), the spec's ``image_version`` says it.
Where neither does, the release is unknown and nothing is rewritten: a hand-made stack taken
over with its own images keeps the flags and keys it runs with. Each kind keeps its own knowledge
(``kinds/<kind>/versions.py``): what the renderer writes differently for a release, and the
upgrade notes ``plan`` shows when an image change crosses one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+_].*)?$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str | None) -> Version | None:
    """'v3.13.3', '12.4.11', '3.13', '3', 'v3.13.0-distroless', '12.4.3-security-01' ->
    a Version; anything else (latest, debian, main) -> None."""
    match = _VERSION.match((text or "").strip())
    if match is None:
        return None
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    return Version(major, minor, patch)


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None: no tag, i.e. latest); a digest is ignored."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]  # a registry's port (host:5000/...) is not a tag
    return last.split(":", 1)[1] if ":" in last else None


def image_repository(image: str) -> str:
    """An image reference without its tag and digest (grafana/grafana, host:5000/prom/x)."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def image_version(image: str) -> Version | None:
    """The version an image's tag names, or None when the tag does not name one."""
    return parse_version(image_tag(image))


def target_version(image: str, declared: str | None) -> Version | None:
    """The release the renderer writes for: the tag's, else the spec's; None when neither
    names one (the spec's flags and keys are then written as they are)."""
    return image_version(image) or parse_version(declared)


@dataclass(frozen=True)
class Crossing:
    """What an image change means for the service: notes for the plan, and what would lose
    data (apply refuses those without --allow-data-move)."""

    reasons: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()


# (tag before, tag after, version before, version after) -> what crossing means.
UpgradeNotes = Callable[[str, str, Version, Version], Crossing]


def _registry() -> dict[str, UpgradeNotes]:
    from beast_observatory.kinds.alertmanager.versions import upgrade_notes as alertmanager  # noqa: PLC0415
    from beast_observatory.kinds.grafana.versions import upgrade_notes as grafana  # noqa: PLC0415
    from beast_observatory.kinds.prometheus.upgrade import upgrade_notes as prometheus  # noqa: PLC0415

    return {"prometheus": prometheus, "grafana": grafana, "alertmanager": alertmanager}


def image_change(kind: str | None, before: str, after: str) -> Crossing:
    """What the plan says about `before` -> `after` beyond the image names themselves:
    nothing unless both tags name versions and the kind knows releases in between."""
    old, new = image_version(before), image_version(after)
    notes = _registry().get(kind or "")
    if notes is None or old is None or new is None or old == new:
        return Crossing()
    return notes(image_tag(before) or "latest", image_tag(after) or "latest", old, new)


__all__ = [
    "Crossing",
    "Version",
    "image_change",
    "image_repository",
    "image_tag",
    "image_version",
    "parse_version",
    "target_version",
]
