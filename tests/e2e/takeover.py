"""Hand-made stacks of the corpus (tests/corpus/<name>/), started by the test with
``docker compose`` (never by the tool), and what their services report about themselves.

``Snapshot`` holds what a takeover must keep, as the services say it: Prometheus' loaded
config (job by job, global, alerting, remote_write/read), its targets and rule groups,
Grafana's provisioned data sources, providers and dashboards (read from inside its
container: the stand-in does not load them, so their files are what it would load), and the
containers' names, network aliases, published ports and data mounts.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from beast_observatory.kinds.detect import service_kind
from beast_observatory.plan.mounts import ANONYMOUS

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PREFIX = "obstest-take-"
_OWN = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")


def corpus_names() -> list[str]:
    return sorted(p.parent.name for p in CORPUS.glob("*/corpus.yaml"))


def sh(cmd: str, cwd: Path, env: Mapping[str, str], timeout: float = 180) -> None:
    done = subprocess.run(
        ["sh", "-c", cmd], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


def project_containers(project: str) -> list[dict[str, Any]]:
    ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").split()
    return json.loads(docker("inspect", *ids)) if ids else []


def remove_project(project: str) -> None:
    """Everything compose made for a project: containers, networks, volumes."""
    for c in project_containers(project):
        docker("rm", "-f", "-v", c["Id"], check=False)  # -v: its anonymous volumes too
    label = f"label=com.docker.compose.project={project}"
    for kind in ("network", "volume"):
        for name in docker(kind, "ls", "-q", "--filter", label, check=False).split():
            docker(kind, "rm", name, check=False)


def remove_dead_leftovers() -> None:
    """Projects of earlier runs of this suite whose pytest process is gone."""
    fmt = '{{.Label "com.docker.compose.project"}}'
    projects: set[str] = set()
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        projects.update(docker(*kind, "--format", fmt, check=False).split())
    for project in sorted(projects):
        match = _OWN.match(project)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            remove_project(project)


@dataclass
class HandMade:
    """One corpus stack, copied into a folder of the test and run by hand."""

    name: str
    folder: Path
    project: str
    meta: dict[str, Any] = field(default_factory=dict)
    # Anonymous volumes (an image's VOLUME) of containers that a `down` without --volumes
    # removes: compose leaves them behind, down() deletes them.
    anonymous: set[str] = field(default_factory=set)

    @classmethod
    def copy(cls, name: str, root: Path) -> HandMade:
        folder = root / name
        shutil.copytree(CORPUS / name, folder)
        meta = yaml.safe_load((folder / "corpus.yaml").read_text())
        project = f"{PREFIX}{os.getpid()}-{name}"[:40].rstrip("-_")
        return cls(name, folder, project, meta)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "COMPOSE_PROJECT_NAME": self.project}

    def up(self) -> None:
        for cmd in self.meta.get("setup") or []:
            sh(cmd, self.folder, self.env)
        sh("docker compose up -d --quiet-pull", self.folder, self.env, timeout=300)
        for cmd in self.meta.get("after_up") or []:
            sh(cmd, self.folder, self.env)
        self.wait_ready()

    def down(self) -> None:
        subprocess.run(
            ["docker", "compose", "down", "-v", "--remove-orphans"],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            timeout=180,
        )
        remove_project(self.project)
        for name in sorted(self.anonymous):
            docker("volume", "rm", name, check=False)
        for cmd in self.meta.get("teardown") or []:
            subprocess.run(["sh", "-c", cmd], cwd=self.folder, capture_output=True, timeout=60)

    def note_anonymous_volumes(self) -> None:
        """Remember the anonymous volumes of the project's containers (before a `down`)."""
        self.anonymous |= {
            m["Name"]
            for c in project_containers(self.project)
            for m in c["Mounts"]
            if m["Type"] == "volume" and ANONYMOUS.match(m.get("Name") or "")
        }

    def wait_ready(self, timeout: float = 120) -> None:
        """Every container running (healthy where it has a check), every expected target up."""
        want = {tuple(t) for t in (self.meta.get("expect") or {}).get("targets_up") or []}
        deadline = time.monotonic() + timeout
        problems: list[str] = ["not checked"]
        while time.monotonic() < deadline:
            problems = [
                f"{c['Name']}: {c['State']['Status']}"
                for c in project_containers(self.project)
                if c["State"]["Status"] != "running"
                or (c["State"].get("Health") or {}).get("Status", "healthy") != "healthy"
            ]
            if not problems:
                found = targets(self.project)
                up = {k for k, v in found.items() if v == "up"}
                problems = [f"target {t} not up" for t in want if not _matched(t, up)]
                # every target scraped once at least: a snapshot compares health, not timing
                problems += [
                    f"target {k} not scraped yet" for k, v in found.items() if v == "unknown"
                ]
            if not problems:
                return
            time.sleep(1)
        raise AssertionError(f"{self.name}: not ready: {problems}")


def _matched(want: tuple[str, ...], up: set[tuple[str, str]]) -> bool:
    job, instance = want[0], want[1]
    if instance.startswith("~"):
        return any(j == job and re.search(instance[1:], i) for j, i in up)
    return (job, instance) in up


# ----------------------------------------------------------------- what the services report


def kind_container(project: str, kind: str) -> dict[str, Any] | None:
    for c in sorted(project_containers(project), key=lambda c: c["Name"]):
        if service_kind(c["Config"]["Image"], c["Config"].get("Entrypoint") or []) == kind:
            return c
    return None


def _flag(cmd: list[str], name: str) -> str | None:
    for arg in cmd:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def prometheus_api(project: str, path: str) -> Any:
    c = kind_container(project, "prometheus")
    assert c is not None, f"{project}: no Prometheus"
    cmd = c["Config"].get("Cmd") or []
    port = (_flag(cmd, "web.listen-address") or ":9090").rsplit(":", 1)[-1]
    prefix = _flag(cmd, "web.route-prefix")
    if prefix is None and (external := _flag(cmd, "web.external-url")):
        rest = external.split("://", 1)[-1]
        prefix = "/" + rest.split("/", 1)[1] if "/" in rest else ""
    url = f"http://127.0.0.1:{port}{(prefix or '').rstrip('/')}{path}"
    out = docker("exec", c["Id"], "wget", "-q", "-O", "-", url)
    return json.loads(out)["data"]


def targets(project: str) -> dict[tuple[str, str], str]:
    try:
        data = prometheus_api(project, "/api/v1/targets?state=active")
    except (AssertionError, ValueError):
        return {}
    return {
        (t["labels"].get("job", t.get("scrapePool")), t["labels"].get("instance")): t["health"]
        for t in data["activeTargets"]
    }


def loaded_config(project: str) -> dict[str, Any]:
    """Prometheus' loaded config: global, alerting, remote_write/read, jobs by name."""
    doc = yaml.safe_load(prometheus_api(project, "/api/v1/status/config")["yaml"])
    jobs = {j["job_name"]: j for j in doc.get("scrape_configs") or []}
    out = {k: doc.get(k) for k in ("global", "alerting", "remote_write", "remote_read")}
    return {**out, "jobs": jobs}


def rule_groups(project: str) -> dict[str, list[tuple[str, str]]]:
    groups = prometheus_api(project, "/api/v1/rules")["groups"]
    return {
        g["name"]: sorted((r.get("name", ""), r.get("query", "")) for r in g["rules"])
        for g in groups
    }


def _copy_out(container: str, path: str) -> dict[str, bytes]:
    done = subprocess.run(["docker", "cp", f"{container}:{path}/.", "-"], capture_output=True)
    if done.returncode != 0:
        return {}
    out = {}
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        for member in tar.getmembers():
            if member.isfile() and (f := tar.extractfile(member)):
                out[posixpath.normpath(member.name)] = f.read()
    return out


def grafana_provisioning(project: str) -> dict[str, Any]:
    """What the stand-in Grafana would provision: data sources (by org and name), deleted
    ones, providers (by name, their path aside) and each provider's dashboards (by their
    path below it, id and version aside)."""
    c = kind_container(project, "grafana")
    if c is None:
        return {}
    env = dict(e.split("=", 1) for e in c["Config"].get("Env") or [])
    root = env.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning")
    files = _copy_out(c["Id"], root)
    sources: dict[str, Any] = {}
    deleted: list[Any] = []
    providers: dict[str, Any] = {}
    for path, data in sorted(files.items()):
        if not path.endswith((".yml", ".yaml")):
            continue
        doc = yaml.safe_load(data) or {}
        for ds in doc.get("datasources") or []:
            # Grafana reads a null like an absent key (Go's YAML decoding)
            key = f"{ds.get('orgId', 1)}/{ds['name']}"
            sources[key] = {k: v for k, v in ds.items() if v is not None}
        deleted += doc.get("deleteDatasources") or []
        for p in doc.get("providers") or []:
            providers[p["name"]] = p
    dashboards = {}
    for name, p in providers.items():
        options = dict(p.get("options") or {})
        folder = str(options.pop("path", "")).rstrip("/")
        for rel, data in _copy_out(c["Id"], folder).items():
            if rel.endswith(".json"):
                doc = json.loads(data)
                dashboards[f"{name}/{rel}"] = {
                    k: v for k, v in doc.items() if k not in ("id", "version")
                }
        providers[name] = {**{k: v for k, v in p.items() if k != "options"}, "options": options}
    return {
        "datasources": sources,
        "deleted": deleted,
        "providers": providers,
        "dashboards": dashboards,
    }


def containers(project: str) -> dict[str, Any]:
    """Per compose service: container name, networks with the aliases others use, published
    ports, and where its data lives (named volumes, writable host folders)."""
    out: dict[str, Any] = {}
    for c in sorted(project_containers(project), key=lambda c: c["Name"], reverse=True):
        labels = c["Config"]["Labels"]
        service = labels["com.docker.compose.service"]
        auto = {service, c["Name"].lstrip("/"), c["Id"][:12]}
        networks = {
            name: sorted(set(n.get("Aliases") or []) - auto)
            for name, n in (c["NetworkSettings"]["Networks"] or {}).items()
        }
        ports = sorted(
            f"{b['HostIp']}:{b['HostPort']}->{p}"
            for p, binds in (c["HostConfig"].get("PortBindings") or {}).items()
            for b in binds or []
        )
        volumes = sorted(
            f"{m['Destination']}={m['Name']}"
            for m in c["Mounts"]
            if m["Type"] == "volume" and not ANONYMOUS.match(m.get("Name") or "")
        )
        binds = {
            m["Destination"]: (m["Source"], m["RW"]) for m in c["Mounts"] if m["Type"] == "bind"
        }
        names = [c["Name"].lstrip("/"), *(out.get(service) or {}).get("names", [])]
        out[service] = {  # replicas of one service: every name, the rest of the first one
            "names": sorted(names),
            "networks": networks,
            "ports": ports,
            "volumes": volumes,
            "binds": binds,
            # host, none, container:<id>; the engine writes one of the networks otherwise
            "network_mode": mode
            if (mode := c["HostConfig"].get("NetworkMode") or "") in ("host", "none")
            or mode.startswith("container:")
            else "",
        }
    return out


@dataclass(frozen=True)
class Snapshot:
    config: dict[str, Any]
    targets: dict[tuple[str, str], str]
    rules: dict[str, list[tuple[str, str]]]
    grafana: dict[str, Any]
    containers: dict[str, Any]

    @classmethod
    def of(cls, project: str) -> Snapshot:
        return cls(
            loaded_config(project),
            targets(project),
            rule_groups(project),
            grafana_provisioning(project),
            containers(project),
        )


SECRET_FILES = "/tmp/observatory-secrets/"


def same_secret_form(value: Any) -> Any:
    """A secret Prometheus shows as <secret> and the same secret read from a file the tool
    writes (password -> password_file) are one setting: the value is the same."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and k.endswith("_file") and v.startswith(SECRET_FILES):
                out[k.removesuffix("_file")] = "<secret>"
            else:
                out[k] = same_secret_form(v)
        return out
    if isinstance(value, list):
        return [same_secret_form(v) for v in value]
    return value


def without_label(config: dict[str, Any], label: str) -> dict[str, Any]:
    out = json.loads(json.dumps(config))
    glob = out.get("global") or {}
    glob.get("external_labels", {}).pop(label, None)
    if glob.get("external_labels") == {}:
        del glob["external_labels"]
    return out


def lost_folders(before: Mapping[str, Any], after: Mapping[str, Any], deploy: str) -> list[str]:
    """Writable host folders the container had that it no longer has: each is either kept
    (same folder, same place) or was configuration, now mounted from the deploy directory."""
    out = []
    for dest, (source, rw) in sorted(before.items()):
        if not rw or not Path(source).is_dir():
            continue
        now = after.get(dest)
        if now is not None and now[0] == source:
            continue
        moved = [
            d
            for d, (s, _) in after.items()
            if s.startswith(deploy) and (dest == d or dest.startswith(d.rstrip("/") + "/"))
        ]
        if not moved:
            out.append(f"{dest}: {source} -> {now[0] if now else 'not mounted'}")
    return out


_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+(:\d+)$")


def _by_role(found: Mapping[tuple[str, str], str]) -> list[tuple[str, str, str]]:
    """Targets with container addresses (found by service discovery) stand for their role:
    a recreated container gets another address."""
    return sorted(
        (job, _IP.sub(r"<container>\1", inst), health) for (job, inst), health in found.items()
    )


def differences(before: Snapshot, after: Snapshot, *, label: str, deploy: str) -> list[str]:
    """What the stack does differently after the takeover (the new external label aside)."""
    out = []
    old = same_secret_form(without_label(before.config, label))
    new = same_secret_form(without_label(after.config, label))
    for key in ("global", "alerting", "remote_write", "remote_read"):
        if old.get(key) != new.get(key):
            out.append(f"prometheus {key}: {old.get(key)} -> {new.get(key)}")
    for job in sorted(set(old["jobs"]) | set(new["jobs"])):
        if old["jobs"].get(job) != new["jobs"].get(job):
            out.append(f"scrape job {job}: {old['jobs'].get(job)} -> {new['jobs'].get(job)}")
    if _by_role(before.targets) != _by_role(after.targets):
        out.append(f"targets: {_by_role(before.targets)} -> {_by_role(after.targets)}")
    if before.rules != after.rules:
        out.append(f"rule groups: {sorted(before.rules)} -> {sorted(after.rules)}")
    for key in ("datasources", "deleted", "providers", "dashboards"):
        b, a = before.grafana.get(key), after.grafana.get(key)
        if b != a:
            out.append(f"grafana {key}: {b} -> {a}")
    if set(before.containers) != set(after.containers):
        out.append(f"services: {sorted(before.containers)} -> {sorted(after.containers)}")
    for service in sorted(set(before.containers) & set(after.containers)):
        b, a = before.containers[service], after.containers[service]
        for key in ("names", "networks", "ports", "volumes", "network_mode"):
            if b[key] != a[key]:
                out.append(f"{service} {key}: {b[key]} -> {a[key]}")
        out += [f"{service} data {lost}" for lost in lost_folders(b["binds"], a["binds"], deploy)]
    return out
