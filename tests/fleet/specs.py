"""Specs with a fleet, as data: three hosts on a site each, node-exporter everywhere."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bundles import spec_data

HOSTS: dict[str, Any] = {
    "fleet-a": {"address": "10.0.0.2", "labels": {"site": "ams", "role": "db"}},
    "fleet-b": {"address": "10.0.0.3", "labels": {"site": "ams"}},
    "fleet-c": {"address": "10.0.0.4", "labels": {"site": "fra"}},
}
STANDIN: dict[str, Any] = {
    "service": {
        "image": "busybox:1.36",
        "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
        "volumes": ["./standin:/www:ro"],
    },
    "port": 9180,
    "container_port": 8080,
}


def fleet_data(hosts: Mapping[str, Any] | None = None, **fleet: Any) -> dict[str, Any]:
    """A spec whose remote environment has a fleet (the hosts above unless given)."""
    data = spec_data()
    section = {"hosts": copy.deepcopy(dict(HOSTS if hosts is None else hosts)), **fleet}
    data["environments"]["remote"]["fleet"] = section
    return data
