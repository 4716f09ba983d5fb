"""Which known kind a container runs, by its image or its program (pure).

The probe decides the same way on the host (its awk ``kind_of``), to know which containers'
configuration to read."""

from __future__ import annotations

import re
from collections.abc import Iterable


def service_kind(image: str, entrypoint: Iterable[str] = ()) -> str | None:
    """prometheus, pushgateway, grafana, alertmanager or node_exporter; None for anything
    else. By the image's repository name or the entrypoint's program."""
    base = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
    args = list(entrypoint)
    prog = args[0].rsplit("/", 1)[-1].lower() if args else ""
    if base.endswith("pushgateway") or prog.endswith("pushgateway"):
        return "pushgateway"
    if base.endswith("alertmanager") or prog.endswith("alertmanager"):
        return "alertmanager"
    if re.search(r"node[-_]exporter$", base) or re.search(r"node[-_]exporter$", prog):
        return "node_exporter"
    if re.fullmatch(r"grafana(-oss|-enterprise|-standin)?", base) or re.fullmatch(
        r"grafana(-server)?", prog
    ):
        return "grafana"
    if "prometheus" in (base, prog):
        return "prometheus"
    return None
