"""What a fleet renders (pure): for the environment's Prometheus, one file_sd file per
exporter (prometheus/fleet/<exporter>.json: every host's target and labels) and a scrape
job reading it; for each host, the Stack of its exporters (bundled by fleet/bundles.py).

Adding or removing a host changes only the file_sd files: Prometheus watches them and picks
the change up by itself (apply also sends it a SIGHUP, as for any change of its files); the
scrape jobs, and so prometheus.yml, change only when the exporters do.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from beast_observatory.bundle.bundle import json_file
from beast_observatory.fleet.model import ExtraExporter, Fleet
from beast_observatory.fleet.resolve import FleetMember, Scraped, members, scraped, target
from beast_observatory.kinds.grafana.model import Grafana
from beast_observatory.kinds.node_exporter.model import NodeExporter
from beast_observatory.kinds.prometheus.model import Prometheus, ScrapeJob
from beast_observatory.kinds.prometheus.render import FOLDER
from beast_observatory.kinds.pushgateway.model import Pushgateway
from beast_observatory.kinds.service import shipped_sources
from beast_observatory.names import READY_LABEL
from beast_observatory.spec.models import Environment, Network, Services, SshSettings
from beast_observatory.spec.resolve import DEFAULT_DEPLOY_ROOT, Stack

FLEET_FOLDER = "fleet"  # under the Prometheus config folder
EXPORTERS_SUFFIX = "-exporters"


def file_sd_path(name: str) -> str:
    """The bundle path of an exporter's file_sd file."""
    return f"{FOLDER}/{FLEET_FOLDER}/{name}.json"


def fleet_of(stack: Stack) -> Fleet | None:
    """The environment's fleet, when its Prometheus is there to scrape it."""
    fleet = stack.environment.fleet
    return fleet if fleet is not None and stack.services.prometheus.enabled else None


def jobs(fleet: Fleet) -> list[Scraped]:
    """One scrape job per exporter enabled in the fleet or on any host; a job's settings are
    the fleet's (an exporter only some hosts define: the first of them, by name)."""
    found: dict[str, Scraped] = {e.name: e for e in scraped(fleet.exporters) if e.enabled}
    for member in members(fleet):
        for exporter in member.scraped():
            found.setdefault(exporter.name, exporter)
    shared = {e.name: e for e in scraped(fleet.exporters)}
    chosen = [shared.get(name, e) for name, e in found.items()]
    return sorted(chosen, key=lambda e: (e.name != "node-exporter", e.name))


def target_groups(fleet: Fleet, job: Scraped) -> list[dict[str, Any]]:
    """The file_sd content of one exporter: a group per host that runs it, with its labels;
    a host whose path or scheme differs from the job's says so in Prometheus' own labels."""
    groups = []
    for member in members(fleet):
        mine = next((e for e in member.scraped() if e.name == job.name), None)
        if mine is None:
            continue
        labels = dict(member.labels)
        if mine.metrics_path != job.metrics_path:
            labels["__metrics_path__"] = mine.metrics_path
        if mine.scheme != job.scheme:
            labels["__scheme__"] = mine.scheme
        groups.append(
            {"targets": [target(member.address, mine.port)], "labels": dict(sorted(labels.items()))}
        )
    return groups


def file_sd_files(stack: Stack) -> dict[str, bytes]:
    """prometheus/fleet/<exporter>.json for every job of the fleet."""
    fleet = fleet_of(stack)
    if fleet is None:
        return {}
    return {file_sd_path(job.name): json_file(target_groups(fleet, job)) for job in jobs(fleet)}


def scrape_job(stack: Stack, job: Scraped) -> ScrapeJob:
    path = f"{stack.services.prometheus.config_dir}/{FLEET_FOLDER}/{job.name}.json"
    return ScrapeJob.model_validate(
        {
            **job.scrape,
            "name": job.job,
            "metrics_path": job.metrics_path,
            "scheme": job.scheme,
            "file_sd_configs": [{"files": [path]}],
        }
    )


def with_fleet_jobs(stack: Stack) -> Stack:
    """The stack whose Prometheus also scrapes the fleet (the stack itself without one)."""
    fleet = fleet_of(stack)
    if fleet is None:
        return stack
    p = stack.services.prometheus
    more = [scrape_job(stack, job) for job in jobs(fleet)]
    prometheus = p.model_copy(update={"scrape_jobs": [*p.scrape_jobs, *more]})
    return dataclasses.replace(
        stack, services=stack.services.model_copy(update={"prometheus": prometheus})
    )


def fleet_asset_refs(stack: Stack) -> set[str]:
    """Files beside the spec that the fleet's exporters ship to the hosts."""
    refs: set[str] = set()
    for member in members(stack.environment.fleet):
        refs.update(shipped_sources(member.exporters.node_exporter.volumes))
        for extra in member.exporters.extra.values():
            if extra.enabled:
                volumes = extra.service.get("volumes")
                refs.update(shipped_sources(volumes if isinstance(volumes, list) else []))
    return refs


# ----------------------------------------------------------------- each host's exporters


def exporters_project(stack: Stack) -> str:
    return f"{stack.project}{EXPORTERS_SUFFIX}"


def deploy_dir(stack: Stack, member: FleetMember | None = None) -> str:
    fleet = stack.environment.fleet
    given = (member.deploy_dir if member else None) or (fleet.deploy_dir if fleet else None)
    return given or f"{DEFAULT_DEPLOY_ROOT}/{exporters_project(stack)}"


def extra_service(extra: ExtraExporter, bind_address: str) -> dict[str, Any]:
    """An extra exporter's compose service: published on the bind address (unless it says
    how itself), restarted unless stopped, and labelled with the URL that says it answers."""
    service = dict(extra.service)
    if "ports" not in service and "network_mode" not in service:
        service["ports"] = [f"{bind_address}:{extra.port}:{extra.inner_port}"]
    service.setdefault("restart", "unless-stopped")
    labels = service.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(str(item).partition("=")[::2] for item in labels)
    if extra.scheme == "http":
        ready = f"http://127.0.0.1:{extra.inner_port}{extra.metrics_path}"
        labels = {**labels, READY_LABEL: ready}
    if labels:
        service["labels"] = labels
    return service


def exporters_stack(stack: Stack, member: FleetMember) -> Stack:
    """What one host of the environment's fleet runs: its exporters, and nothing else."""
    ne = member.exporters.node_exporter
    node_exporter = NodeExporter.model_validate(ne.model_dump(exclude={"job", "scrape"}))
    extra = {
        name: extra_service(e, member.bind_address)
        for name, e in sorted(member.exporters.extra.items())
        if e.enabled
    }
    services = Services(
        prometheus=Prometheus(enabled=False),
        pushgateway=Pushgateway(enabled=False),
        grafana=Grafana(enabled=False),
        node_exporter=node_exporter,
        extra=extra,
    )
    ssh = member.ssh
    environment = Environment(
        description=f"the exporters of {member.name}, fleet of environment {stack.env_name}",
        ssh=SshSettings(
            host=str(ssh.host), user=ssh.user, port=ssh.port, identity_file=ssh.identity_file
        ),
        deploy_dir=deploy_dir(stack, member),
        bind_address=member.bind_address,
    )
    return Stack(
        project=exporters_project(stack),
        env_name=stack.env_name,
        environment=environment,
        services=services,
        networks={"observatory": Network()},
        volumes={},
    )
