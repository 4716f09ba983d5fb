"""Swarm specs for the tests, and services as ``docker service inspect`` reports them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.swarm.names import STACK_FILE
from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data

_SECOND = 1_000_000_000


def swarm_spec(**swarm: Any) -> dict[str, Any]:
    """Prometheus, Grafana and a node-exporter on every node; engine: swarm on local."""
    data = spec_data(
        {
            "prometheus": {"global": {"scrape_interval": "15s"}},
            "grafana": {},
            "node_exporter": {"enabled": True},
            "pushgateway": {"enabled": False},
        }
    )
    data["environments"]["local"] = {"engine": "swarm", "swarm": dict(swarm)}
    return data


def stack_of(bundle: Bundle) -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(bundle.files[STACK_FILE], STACK_FILE)
    return doc


def swarm_bundle(**swarm: Any) -> Bundle:
    return render(swarm_spec(**swarm))


def _duration(text: str | None) -> int | None:
    if text is None:
        return None
    number, unit = re.fullmatch(r"(\d+)(s|m)", text).groups()  # type: ignore[union-attr]
    return int(number) * _SECOND * (60 if unit == "m" else 1)


def inspected(
    project: str, name: str, service: Mapping[str, Any], doc: Mapping[str, Any]
) -> dict[str, Any]:
    """What Docker reports of a service deployed from a stack file's entry (its own terms:
    the version 3 keys converted as docker stack deploy converts them)."""
    deploy = service.get("deploy") or {}
    mode = (
        {"Global": {}}
        if deploy.get("mode") == "global"
        else {"Replicated": {"Replicas": deploy.get("replicas", 1)}}
    )
    mounts = []
    for entry in service.get("volumes") or []:
        source, target, *rest = entry.split(":")
        kind = "bind" if source.startswith("/") else "volume"
        mount: dict[str, Any] = {
            "Type": kind,
            "Source": source if kind == "bind" else f"{project}_{source}",
            "Target": target,
        }
        if rest and rest[0] == "ro":
            mount["ReadOnly"] = True
        mounts.append(mount)
    configs = [
        {
            "File": {"Name": c["target"], "UID": "0", "GID": "0", "Mode": 292},
            "ConfigName": c["source"],
        }
        for c in service.get("configs") or []
    ]
    secrets = [
        {"File": {"Name": s["target"]}, "SecretName": f"{project}_{s['source']}_0123456789ab"}
        for s in service.get("secrets") or []
    ]
    check = service.get("healthcheck") or {}
    container: dict[str, Any] = {
        "Image": f"{service['image']}@sha256:{'0' * 64}",
        "Labels": {**service.get("labels", {}), "com.docker.stack.namespace": project},
        "Args": list(service.get("command") or []),
        "Env": sorted(f"{k}={v}" for k, v in (service.get("environment") or {}).items()),
        "Mounts": mounts,
        "Configs": configs,
        "Secrets": secrets,
    }
    if check:
        container["Healthcheck"] = {
            "Test": check["test"],
            "Interval": _duration(check.get("interval")),
            "Timeout": _duration(check.get("timeout")),
            "Retries": check.get("retries"),
            "StartPeriod": _duration(check.get("start_period")),
        }
    ports = [
        {
            "Protocol": p["protocol"],
            "TargetPort": p["target"],
            "PublishedPort": p["published"],
            "PublishMode": p["mode"],
        }
        for p in service.get("ports") or []
    ]
    restart = deploy.get("restart_policy") or {}
    return {
        "ID": f"id-{name}",
        "Spec": {
            "Name": f"{project}_{name}",
            "Labels": {"com.docker.stack.namespace": project},
            "TaskTemplate": {
                "ContainerSpec": container,
                "RestartPolicy": {"Condition": restart.get("condition", "any"), "MaxAttempts": 0},
                "Placement": {"Constraints": (deploy.get("placement") or {}).get("constraints")},
            },
            "Mode": mode,
            "EndpointSpec": {"Mode": "vip", "Ports": ports},
        },
    }


def deployed_services(bundle: Bundle) -> list[dict[str, Any]]:
    """docker service inspect of every service of the bundle's stack, as deployed."""
    doc = stack_of(bundle)
    return [
        inspected(bundle.project, name, svc, doc) for name, svc in sorted(doc["services"].items())
    ]
