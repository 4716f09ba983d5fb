"""node-exporter's compose service (pure). ``read.py`` is the inverse."""

from __future__ import annotations

from beast_observatory.kinds.service import KindParts
from beast_observatory.spec.resolve import Stack


def compose_parts(stack: Stack) -> KindParts:
    ne = stack.services.node_exporter
    flags = []
    if ne.host_root is not None:
        flags.append(f"--path.rootfs={ne.host_root}")
    flags.append(f"--web.listen-address=:{ne.container_port}")
    return KindParts(
        command=flags + list(ne.extra_flags),
        ready_path="/metrics",
        extra={"pid": "host"} if ne.host_root is not None else {},
        mounts=[f"/:{ne.host_root}:ro"] if ne.host_root is not None else [],
    )
