"""A container of no known kind read back as a compose fragment (pure): the inverse of
``render.py``. Its configuration files (single files and read-only folders it mounts) are
captured beside the spec and shipped with every release; data stays where it is."""

from __future__ import annotations

from typing import Any

from beast_observatory.discover.context import ExportContext, scrub_args
from beast_observatory.host.probe.inventory import Container
from beast_observatory.kinds.identity import identity, resources
from beast_observatory.kinds.read import (
    environment,
    healthcheck,
    networks,
    port_entries,
    restart,
    volumes,
)


def _process(
    ctx: ExportContext, c: Container, fragment: dict[str, Any], name: str
) -> dict[str, Any]:
    """Entrypoint and command where they are not the image's (secrets in them scrubbed)."""
    image = ctx.inventory.image_of(c)
    out: dict[str, Any] = {}
    if tuple(c.entrypoint) != image.entrypoint:
        out["entrypoint"] = scrub_args(ctx, list(c.entrypoint), fragment.get("entrypoint"), name)
    if tuple(c.cmd) != image.cmd or "entrypoint" in out:
        out["command"] = scrub_args(ctx, list(c.cmd), fragment.get("command"), name)
    return out


def read_extra(ctx: ExportContext, c: Container, name: str) -> dict[str, Any]:
    """The fragment; the local environment's variant of its mounts goes to ctx.local."""
    out: dict[str, Any] = {"image": c.image}
    fragment = ctx.fragment(c) or {}
    if "build" in fragment:
        ctx.note(
            f"service {name}: built on the host from {fragment['build']!r}; the spec runs the "
            f"image it built ({c.image}): on another host build or load it first"
        )
    out.update(_process(ctx, c, fragment, name))
    if ports := port_entries(c):
        out["ports"] = ports
    if env := environment(ctx, c, None):
        out["environment"] = env
    mounts = volumes(ctx, c, name, ())
    if mounts.entries:
        out["volumes"] = mounts.entries
    if mounts.differs:
        ctx.local.setdefault("services", {}).setdefault("extra", {}).setdefault(name, {})[
            "volumes"
        ] = mounts.local
    nets, mode = networks(ctx, c)
    if mode is not None:
        out["network_mode"] = mode
    elif nets:
        out["networks"] = nets
    out["restart"] = restart(c)
    if (hc := healthcheck(c)) is not None:
        out["healthcheck"] = hc
    limits = resources(c)
    out.update({"cpus": limits["cpus"]} if "cpus" in limits else {})
    out.update({"mem_limit": limits["memory"]} if "memory" in limits else {})
    out.update(identity(ctx, c, entrypoint=False))
    return out
