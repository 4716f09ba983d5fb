"""How Prometheus finds every task of a service that runs more than one (pure).

In a compose project ``node-exporter:9100`` is one container. In a stack it is a virtual IP
in front of one task per node: scraping it would reach a different node each time. So a
static target naming a service of the stack that runs several tasks (a global exporter, a
service with replicas) becomes a discovery of its tasks: ``dns_sd_configs`` on
``tasks.<service>`` (the overlay network's DNS answers with every task's address), or
``dockerswarm_sd_configs`` through the Docker socket (swarm.discovery). An extra service
marked as an exporter gets a job of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beast_observatory.kinds.prometheus.render import prometheus_config
from beast_observatory.spec.resolve import Stack
from beast_observatory.swarm.model import EXTRA_KEY, ExtraSwarm, SwarmPlacement
from beast_observatory.swarm.names import service_name

DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class Tasks:
    """A service of the stack that runs several tasks, as Prometheus scrapes it."""

    service: str  # compose service name (its DNS name on the stack's networks)
    port: int
    network: str  # the real name of the network Prometheus reaches it on
    job: str | None = None  # a job of its own (an exporter extra), else found in the config
    path: str = "/metrics"

    @property
    def target(self) -> str:
        return f"{self.service}:{self.port}"


def extra_swarm(fragment: dict[str, Any]) -> ExtraSwarm:
    return ExtraSwarm.model_validate(fragment.get(EXTRA_KEY) or {})


def runs_many(placement: SwarmPlacement, *, exporter: bool) -> bool:
    mode = placement.mode or ("global" if exporter else "replicated")
    return mode == "global" or (placement.replicas or 1) > 1


def network_name(stack: Stack, networks: list[str]) -> str:
    first = sorted(networks)[0] if networks else "default"
    net = stack.networks.get(first)
    if net is not None and net.name:
        return net.name
    return f"{stack.project}_{first}"


def multi_task_services(stack: Stack) -> list[Tasks]:
    out = []
    for key in stack.enabled_kinds():
        svc = stack.kind(key)
        if runs_many(svc.swarm, exporter=key == "node_exporter"):
            name = stack.service_name(key)
            out.append(Tasks(name, svc.container_port, network_name(stack, svc.network_names())))
    for name, fragment in sorted(stack.services.extra.items()):
        x = extra_swarm(fragment)
        if x.exporter is not None or runs_many(x, exporter=False):
            networks = fragment.get("networks") or (
                stack.services.prometheus.network_names() if x.exporter else ["default"]
            )
            net = network_name(stack, sorted(networks))
            if x.exporter is not None:
                job = x.exporter.job or name
                out.append(Tasks(name, x.exporter.port, net, job, x.exporter.path))
    return out


def tasks_discovery(stack: Stack, tasks: Tasks) -> dict[str, Any]:
    """The scrape config keys that find every task of tasks.service."""
    refresh = stack.environment.swarm.refresh_interval
    if stack.environment.swarm.discovery == "dns_sd":
        sd = {"names": [f"tasks.{tasks.service}"], "type": "A", "port": tasks.port}
        return {"dns_sd_configs": [{**sd, "refresh_interval": refresh}]}
    return {
        "dockerswarm_sd_configs": [
            {
                "host": f"unix://{DOCKER_SOCKET}",
                "role": "tasks",
                "port": tasks.port,
                "refresh_interval": refresh,
                "filters": [
                    {"name": "service", "values": [service_name(stack.project, tasks.service)]}
                ],
            }
        ],
        "relabel_configs": [
            {
                "source_labels": ["__meta_dockerswarm_task_desired_state"],
                "regex": "running",
                "action": "keep",
            },
            # one target per task, on the network Prometheus shares with it
            {
                "source_labels": ["__meta_dockerswarm_network_name"],
                "regex": tasks.network,
                "action": "keep",
            },
            {
                "source_labels": ["__address__"],
                "regex": r"(.+):\d+",
                "replacement": f"${{1}}:{tasks.port}",
                "target_label": "__address__",
            },
        ],
    }


def _discovered(job: dict[str, Any], found: dict[str, Tasks], stack: Stack) -> dict[str, Any]:
    """job with each static target of a multi-task service replaced by a discovery of its
    tasks (a group with labels of its own stays static: discovery carries no labels)."""
    groups, discovered = [], []
    for group in job.get("static_configs") or []:
        targets = list(group.get("targets") or [])
        many = [t for t in targets if t in found]
        if many and len(group) == 1:
            discovered += [found[t] for t in many]
            rest = [t for t in targets if t not in found]
            if rest:
                groups.append({**group, "targets": rest})
        else:
            groups.append(group)
    if not discovered:
        return job
    out = {k: v for k, v in job.items() if k != "static_configs"}
    if groups:
        out["static_configs"] = groups
    for tasks in discovered:
        for key, value in tasks_discovery(stack, tasks).items():
            # the discovery's own relabelling first: the job's may rely on __address__
            before, after = (
                (value, out.get(key, [])) if key == "relabel_configs" else (out.get(key, []), value)
            )
            out[key] = [*before, *after]
    return out


def exporter_job(stack: Stack, tasks: Tasks) -> dict[str, Any]:
    job: dict[str, Any] = {"job_name": tasks.job or tasks.service}
    if tasks.path != "/metrics":
        job["metrics_path"] = tasks.path
    return {**job, **tasks_discovery(stack, tasks)}


def swarm_prometheus_config(stack: Stack) -> dict[str, Any]:
    """prometheus.yml of a stack: the compose one, its multi-task targets discovered."""
    config = prometheus_config(stack)
    many = multi_task_services(stack)
    found = {t.target: t for t in many if t.job is None}
    jobs = [_discovered(job, found, stack) for job in config.get("scrape_configs") or []]
    names = {j["job_name"] for j in jobs}
    covered = {
        t
        for j in config.get("scrape_configs") or []
        for g in j.get("static_configs") or []
        for t in g.get("targets") or []
    }
    for tasks in many:
        if tasks.job is not None and tasks.job not in names and tasks.target not in covered:
            jobs.append(exporter_job(stack, tasks))
    config["scrape_configs"] = jobs
    return config


def discovered_jobs(config: dict[str, Any]) -> dict[str, list[str]]:
    """job -> the services whose tasks it discovers (what verification counts)."""
    out: dict[str, list[str]] = {}
    for job in config.get("scrape_configs") or []:
        names = [
            n.removeprefix("tasks.")
            for sd in job.get("dns_sd_configs") or []
            for n in sd.get("names") or []
            if n.startswith("tasks.")
        ]
        names += [
            v
            for sd in job.get("dockerswarm_sd_configs") or []
            for f in sd.get("filters") or []
            if f.get("name") == "service"
            for v in f.get("values") or []
        ]
        if names:
            out[str(job["job_name"])] = names
    return out
