"""A host for unit tests: a Transport that records every command and file write and answers
from a scripted table, with no Docker and no sshd.

``FakeHost`` keeps a file tree (absolute path -> bytes) and the containers of one compose
project, and plays the host's side of every command the deploy code sends: the probe (from the
tree and the containers), the host lock and its served session (the real framing of
host/transport/served.py), files.sh, stage.sh (the real tar), switch.sh, ``compose up`` (which
makes the containers those of the live docker-compose.yml), reloads, status, the Prometheus
API, the push probe, pruning. ``faults`` script the exceptions: a step that fails, a status
that shows a service unhealthy, the connection dropping at a step.

Each command is recorded as a ``Call`` with a short step name (``Call.step``) such as
``stage 0002``, ``promtool``, ``promtool test observatory-rules`` (a rule test), ``switch to
0001`` or ``write state.json``: a test asserts the sequence a user would recognise. The probe's
output is written in the probe's own format (the part of it that plan and apply read).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import posixpath
import re
import tarfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from beast_observatory.errors import TransportError
from beast_observatory.host.probe.inventory import PROBE_VERSION
from beast_observatory.host.shell import script_name
from beast_observatory.host.transport.base import Command, CommandResult, run_each
from beast_observatory.host.transport.served import decode_requests, encode_answer

DEPLOY = "/srv/observatory/beast-observatory"
RELEASES = f"{DEPLOY}/releases"
STATUS_MARK = "@@observatory@@"
VERIFY_MARK = "@@observatory-verify@@"


@dataclass(frozen=True)
class Fault:
    """What goes wrong at a step: ``step`` as Call.step names it (a prefix matches), for the
    first ``times`` calls of it."""

    step: str
    rc: int = 1
    stderr: str = ""
    unhealthy: str | None = None  # status: this service is unhealthy
    lost: bool = False  # the connection drops while this step runs (it still completes)
    times: int = 1


@dataclass(frozen=True)
class Call:
    argv: tuple[str, ...]
    stdin: bytes
    locked: bool  # ran in the host lock's session
    step: str


@dataclass
class Container:
    service: str
    id: str
    definition: dict[str, Any]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ok(stdout: bytes | str = b"", argv: tuple[str, ...] = ()) -> CommandResult:
    out = stdout.encode() if isinstance(stdout, str) else stdout
    return CommandResult(argv, 0, out, b"")


class LostConnectionError(Exception):
    """Raised inside the fake when a fault drops the connection."""


def operator_env() -> dict[str, bytes]:
    """What an operator put on the host once: the stack's secrets in .env."""
    return {f"{DEPLOY}/.env": b"GRAFANA_ADMIN_PASSWORD=<redacted sha256:0123456789ab>\n"}


@dataclass
class FakeHost:
    files: dict[str, bytes] = field(default_factory=operator_env)
    faults: list[Fault] = field(default_factory=list)
    project: str = "beast-observatory"
    description: str = "fakehost"
    calls: list[Call] = field(default_factory=list)
    containers: dict[str, Container] = field(default_factory=dict)
    sessions: int = 0
    reloaded: list[tuple[str, str]] = field(default_factory=list)  # (service, container id)
    _ids: int = 0
    _used: dict[int, int] = field(default_factory=dict)
    _lost: bool = False

    # ------------------------------------------------------------------ Transport

    @property
    def round_trips(self) -> int:
        return self.sessions

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,  # noqa: ARG002 - nothing waits here
        env: dict[str, str] | None = None,  # noqa: ARG002
    ) -> CommandResult:
        self._check_connected()
        self.sessions += 1
        try:
            return self.execute(tuple(argv), stdin or b"", locked=False)
        except LostConnectionError:
            raise TransportError(f"{self.description}: the SSH connection failed") from None

    def run_batch(
        self, commands: Sequence[Command], *, timeout: float | None = None
    ) -> list[CommandResult | None]:
        return run_each(self.run, commands, timeout)

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> FakeSession:  # noqa: ARG002
        self._check_connected()
        self.sessions += 1
        return FakeSession(self, tuple(argv))

    def read_file(self, path: str) -> bytes | None:
        return self.files.get(path)

    def write_file_atomic(self, path: str, data: bytes, *, mode: int = 0o644) -> None:  # noqa: ARG002
        self.record(("write-file", path), data, locked=False)
        self.files[path] = data

    def makedirs(self, path: str, *, mode: int = 0o755) -> None:
        """Directories are implied by the paths of the files."""

    def remove(self, path: str) -> None:
        self.files.pop(path, None)

    def close(self) -> None:
        """Nothing to close."""

    def _check_connected(self) -> None:
        if self._lost:
            raise TransportError(f"{self.description}: the SSH connection failed")

    def expect(self, faults: Sequence[Fault]) -> None:
        """What goes wrong from now on (instead of what was scripted before)."""
        self.faults = list(faults)
        self._used.clear()

    def forget(self) -> None:
        """Start the record afresh (the host stays as it is)."""
        self.calls.clear()
        self.sessions = 0

    # ------------------------------------------------------------------ what tests read

    def steps(self) -> list[str]:
        return [c.step for c in self.calls]

    def live(self, rel: str) -> bytes | None:
        return self.files.get(f"{DEPLOY}/{rel}")

    def live_files(self) -> dict[str, bytes]:
        prefix = f"{DEPLOY}/"
        return {
            p[len(prefix) :]: d
            for p, d in self.files.items()
            if p.startswith(prefix) and not p.startswith(f"{RELEASES}/")
        }

    def releases(self) -> list[str]:
        return sorted(
            {
                p[len(RELEASES) + 1 :].split("/")[0]
                for p in self.files
                if p.startswith(RELEASES + "/")
            }
        )

    def writes(self) -> list[str]:
        """Every step that changed a file or a container on the host."""
        readonly = ("lock", "probe", "detect", "read ", "sweep", "status", "prometheus api")
        readonly += ("compose config", "promtool", "amtool", "push probe")
        return [s for s in self.steps() if not s.startswith(readonly)]

    # ------------------------------------------------------------------ the host's side

    def record(self, argv: tuple[str, ...], stdin: bytes, *, locked: bool) -> Call:
        call = Call(argv, stdin, locked, step_of(argv))
        self.calls.append(call)
        return call

    def _fault(self, step: str) -> Fault | None:
        for i, fault in enumerate(self.faults):
            if step.startswith(fault.step) and self._used.get(i, 0) < fault.times:
                self._used[i] = self._used.get(i, 0) + 1
                return fault
        return None

    def execute(self, argv: tuple[str, ...], stdin: bytes, *, locked: bool) -> CommandResult:
        call = self.record(argv, stdin, locked=locked)
        fault = self._fault(call.step)
        if fault is not None and fault.lost:
            self._play(call)  # it completes on the host (nohup), the answer never comes
            self._lost = True
            raise LostConnectionError
        if fault is not None and fault.unhealthy is None:
            return CommandResult(argv, fault.rc, b"", fault.stderr.encode())
        result = self._play(call, unhealthy=fault.unhealthy if fault else None)
        return CommandResult(argv, result.exit_code, result.stdout, result.stderr)

    def _play(self, call: Call, unhealthy: str | None = None) -> CommandResult:  # noqa: C901, PLR0911, PLR0912
        argv, name = call.argv, script_name(call.argv)
        args = list(argv[4:])
        if argv[:3] == ("sh", "-s", "--"):
            return ok(self.probe_output(expected_of(argv)))
        if name == "placeholders":
            count = int(args[0])
            return self._play(Call(tuple(args[1 + count :]), call.stdin, call.locked, call.step))
        if name == "files":
            return self._files(args, call.stdin)
        if name == "detect-compose":
            return ok("24.0.7\n@@rc 0\n2.40.3\n@@rc 0\n@@rc 127\n")
        if name in ("sweep", "push-probe"):
            return ok("ok\n" if name == "push-probe" else "")
        if name == "stage":
            return self._stage(args, call.stdin)
        if name == "switch-detached":
            return self._switch(args[2], args[3], args[4:])
        if name == "prune":
            return self._prune(args[0], int(args[1]))
        if name == "status":
            return ok(self.status_output(unhealthy))
        if name == "prometheus-api":
            return ok(self.prometheus_api_output())
        if argv[:2] == ("rm", "-rf"):
            for path in argv[3:]:
                for p in [p for p in self.files if p == path or p.startswith(path + "/")]:
                    del self.files[p]
            return ok()
        if "compose" in " ".join(argv[:2]) or argv[:1] == ("docker-compose",):
            return self._compose(argv)
        if argv[:2] == ("docker", "run"):
            return ok()
        if argv[:2] == ("docker", "ps"):  # the running containers: "ID SERVICE" lines
            return ok("".join(f"{c.id} {c.service}\n" for c in self.containers.values()))
        if name == "reload":  # SIGHUP to the containers that ran before `up`
            alive = {c.id for c in self.containers.values()}
            self.reloaded += [(args[0], cid) for cid in args[1:] if cid in alive]
            return ok()
        raise AssertionError(f"the fake host does not know {call.step!r}: {argv!r}")

    def _files(self, args: list[str], stdin: bytes) -> CommandResult:
        op, path = args[0], args[1]
        if op == "read":
            data = self.files.get(path)
            return ok(data) if data is not None else CommandResult((), 3, b"", b"")
        if op == "write":
            self.files[path] = stdin
        elif op == "remove":
            self.files.pop(path, None)
        return ok()

    def _stage(self, args: list[str], tar_bytes: bytes) -> CommandResult:
        live, suffix = args[0], args[2]
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            sent = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
            }
        numbers = [int(r.split("-")[0]) for r in self.releases() if re.match(r"^\d{4,}-", r)]
        name = f"{max(numbers, default=0) + 1:04d}-{suffix}"
        root = f"{live}/releases/{name}"
        for rel in sent["files.list"].decode().splitlines():
            data = sent.get(rel, self.files.get(f"{live}/{rel}"))
            if data is None:
                return CommandResult((), 1, b"", f"{rel}: not in the live files".encode())
            self.files[f"{root}/{rel}"] = data
        for meta in ("manifest.json", "files.list"):
            self.files[f"{root}/{meta}"] = sent[meta]
        return ok(f"{name}\n")

    def _switch(self, live: str, release: str, remove: list[str]) -> CommandResult:
        for rel in self.files[f"{release}/files.list"].decode().splitlines():
            self.files[f"{live}/{rel}"] = self.files[f"{release}/{rel}"]
        for rel in remove:
            if f"{release}/{rel}" not in self.files:
                self.files.pop(f"{live}/{rel}", None)
        self.files[f"{live}/manifest.json"] = self.files[f"{release}/manifest.json"]
        return ok("switched\n")

    def _prune(self, root: str, keep: int) -> CommandResult:
        names = sorted(
            (r for r in self.releases() if re.match(r"^\d{4,}-", r)),
            key=lambda r: int(r.split("-")[0]),
        )
        for name in names[: max(len(names) - keep, 0)]:
            for p in [p for p in self.files if p.startswith(f"{root}/{name}/")]:
                del self.files[p]
        return ok()

    def _compose(self, argv: tuple[str, ...]) -> CommandResult:
        args = list(argv[argv.index("-f") + 2 :])
        if args[:1] == ["up"]:
            self.compose_up(allow_remove="--remove-orphans" in args)
        elif args[:1] == ["down"]:
            self.containers.clear()
        elif args[:1] == ["logs"]:
            # compose's own shape: the container's name, a bar, the line
            name = f"{self.project}-{args[-1]}-1"
            return CommandResult(
                argv,
                0,
                (
                    f"{name}  | level=info msg=Starting\n"
                    f'{name}  | \x1b[31mlevel=error msg="POST http://am:hunter2@sink/"\x1b[0m\n'
                    f"{name}  | level=error msg=crashed\n"
                ).encode(),
                b"WARN[0000] compose's own warning, not the service's log\n",
            )
        return ok()

    # ------------------------------------------------------------------ the simulated engine

    def compose(self) -> dict[str, Any]:
        data = self.live("docker-compose.yml")
        return yaml.safe_load(data) if data else {}

    def compose_up(self, *, allow_remove: bool = False) -> None:
        """Containers for the live compose file: a changed definition gets a new container."""
        services = self.compose().get("services") or {}
        for name, definition in services.items():
            running = self.containers.get(name)
            if running is None or running.definition != definition:
                self._ids += 1
                self.containers[name] = Container(name, f"{self._ids:064x}", definition)
        if allow_remove:
            for name in set(self.containers) - set(services):
                del self.containers[name]

    def probe_output(self, expected: frozenset[tuple[str, str]] = frozenset()) -> str:
        lines = [
            {"k": "meta", "probe_version": PROBE_VERSION, "encoding": "base64", "sha": True},
            {"k": "host", "hostname_b": b64("fakehost"), "kernel_b": b64("Linux 6.1")},
            {"k": "docker", "available": True, "server_version_b": b64("24.0.7")},
        ]
        for c in self.containers.values():
            lines += self._container_records(c)
        lines.append({"k": "dir", "path_b": b64(DEPLOY)})
        for path, data in sorted(self.files.items()):
            rel = path[len(DEPLOY) + 1 :]
            if not path.startswith(DEPLOY + "/") or (
                rel.startswith("releases/") and not rel.endswith("/manifest.json")
            ):
                continue
            lines.append(
                {
                    "k": "file",
                    "scope": "dir",
                    "owner_b": b64(DEPLOY),
                    "path_b": b64(rel),
                    "host_path_b": b64(path),
                    "sha256": sha(data),
                    "size": len(data),
                    # as the probe does: a file the caller has (--expect) comes without content
                    "expected": (sha(data), rel) in expected,
                    "error_b": None,
                    "content_b": None
                    if (sha(data), rel) in expected
                    else base64.b64encode(data).decode(),
                }
            )
        lines.append({"k": "compose", "plugin_b": b64("2.40.3"), "standalone_b": None})
        lines.append({"k": "end"})
        return "".join(json.dumps(line) + "\n" for line in lines)

    def _container_records(self, c: Container) -> list[dict[str, Any]]:
        d = c.definition
        ports: dict[str, list[dict[str, str]]] = {}
        for entry in d.get("ports") or []:
            ip, host_port, cport = str(entry).rsplit(":", 2)
            ports[f"{cport}/tcp"] = [{"HostIp": ip, "HostPort": host_port}]
        labels = {
            **(d.get("labels") or {}),
            "com.docker.compose.project": self.project,
            "com.docker.compose.service": c.service,
        }
        records: list[dict[str, Any]] = [
            {
                "k": "container",
                "id": c.id,
                "name": f"/{self.project}-{c.service}-1",
                "image": d.get("image"),
                "image_id": "sha256:" + "0" * 64,
                "restart_policy": d.get("restart", "no"),
                "ports": ports,
                "state": {"status": "running", "health": "healthy", "started_at": "2024-05-01"},
            }
        ]
        for i, arg in enumerate(d.get("command") or []):
            records.append({"k": "arg", "c": c.id, "f": "cmd", "i": i, "v": str(arg)})
        for key, value in (d.get("environment") or {}).items():
            if "${" not in str(value):
                records.append({"k": "env", "c": c.id, "v": f"{key}={value}"})
        for key, value in labels.items():
            records.append({"k": "label", "c": c.id, "v": f"{key}={value}"})
        return records

    def status_output(self, unhealthy: str | None = None) -> str:
        containers = [
            {
                "Name": f"/{self.project}-{c.service}-1",
                "RestartCount": 0,
                "State": {
                    "Status": "running",
                    "StartedAt": "2024-05-01T10:00:00Z",
                    "Health": {"Status": "unhealthy" if c.service == unhealthy else "healthy"},
                },
                "Config": {
                    "Image": c.definition.get("image"),
                    "Labels": {
                        "com.docker.compose.project": self.project,
                        "com.docker.compose.service": c.service,
                    },
                },
                "NetworkSettings": {"Ports": {}},
            }
            for c in self.containers.values()
        ]
        probes = [f"{STATUS_MARK}probe {c.service} 200" for c in self.containers.values()]
        return "\n".join([f"{STATUS_MARK}inspect", json.dumps(containers), *probes]) + "\n"

    def prometheus_api_output(self) -> str:
        config = yaml.safe_load(self.live("prometheus/prometheus.yml") or b"{}") or {}
        targets = [
            {"labels": {"job": job["job_name"], "instance": t}, "health": "up"}
            for job in config.get("scrape_configs") or []
            for sc in job.get("static_configs") or []
            for t in sc.get("targets") or []
        ]
        groups = [
            {"name": g["name"]}
            for rel, data in self.live_files().items()
            if rel.startswith("prometheus/rules/")
            for g in (yaml.safe_load(data) or {}).get("groups") or []
        ]
        return (
            f"{VERIFY_MARK}targets\n{json.dumps({'data': {'activeTargets': targets}})}\n"
            f"{VERIFY_MARK}rules\n{json.dumps({'data': {'groups': groups}})}\n"
        )


class FakeSession:
    """The host lock's session: lock.sh's side of the framing of host/transport/served.py."""

    def __init__(self, host: FakeHost, argv: tuple[str, ...]) -> None:
        self.host = host
        self.argv = argv
        self._in = b""
        self._out = b""
        self._stopped = False
        self._ended = False
        self._changed = threading.Condition()  # ServedTransport sends big requests from a thread
        call = host.record(argv, b"", locked=False)
        if call.step != "lock":
            raise AssertionError(f"only the host lock starts a session here, not {argv!r}")
        self._mark = argv[6]
        self._out = b"acquired\n"

    def send(self, data: bytes) -> None:
        with self._changed:
            self._serve(data)
            self._changed.notify_all()

    def _serve(self, data: bytes) -> None:
        if self._ended:
            raise self.failure("send a command")
        self._in += data
        requests, self._in = decode_requests(self._in)
        for request in requests:
            if request.first:
                self._stopped = False
            if self._stopped:
                self._out += encode_answer(self._mark, None)
                continue
            try:
                result = self.host.execute(request.argv, request.stdin, locked=True)
            except LostConnectionError:
                self._ended = True
                return
            if request.stops and not result.ok:
                self._stopped = True
            self._out += encode_answer(self._mark, result)

    def failure(self, doing: str) -> TransportError:
        return TransportError(
            f"{self.host.description}: the SSH connection failed while trying to {doing}: "
            "the connection was closed",
            hint="check the host and the network, then run the command again",
        )

    def read_line(self, timeout: float) -> bytes:
        with self._changed:
            self._changed.wait_for(lambda: b"\n" in self._out or self._ended, timeout)
            line, sep, self._out = self._out.partition(b"\n")
            return line + sep

    def close(self, timeout: float = 10.0) -> CommandResult:  # noqa: ARG002
        self._ended = True
        return CommandResult(self.argv, 0, self._out, b"")


def expected_of(argv: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """(sha256, path) of each ``--expect "SHA256 PATH"`` of a probe command line."""
    pairs = (argv[i + 1].split(" ", 1) for i, a in enumerate(argv[:-1]) if a == "--expect")
    return frozenset((p[0], p[1]) for p in pairs if len(p) == 2)


def step_of(argv: tuple[str, ...]) -> str:  # noqa: C901, PLR0911, PLR0912
    """What a user would call a command: ``switch to 0002``, ``write state.json``..."""
    name, args = script_name(argv), list(argv[4:])
    rel = _relative
    if argv[:3] == ("sh", "-s", "--"):
        return "probe"
    if name == "lock":
        return "lock"
    if name == "placeholders":
        return step_of(tuple(args[1 + int(args[0]) :]))
    if name == "files":
        return f"{args[0]} {rel(args[1])}"
    if name == "detect-compose":
        return "detect compose"
    if name == "stage":
        return "stage"
    if name == "switch-detached":
        return f"switch to {posixpath.basename(args[3])[:4]}"
    if name in ("sweep", "prune", "status"):
        return name
    if name == "reload":
        return f"reload {args[0]}"
    if argv[:2] == ("docker", "ps"):
        return "list running"
    if name == "prometheus-api":
        return "prometheus api"
    if name == "push-probe":
        return "push probe"
    if argv[:1] == ("write-file",):
        return f"write {rel(argv[1])}"
    if argv[:2] == ("rm", "-rf"):
        return f"discard {posixpath.basename(argv[-1])[:4]}"
    if argv[:2] == ("docker", "run"):
        tool = posixpath.basename(argv[argv.index("--entrypoint") + 1])
        if argv[-3:-1] == ("test", "rules"):  # a rule test: ``promtool test <name>``
            return f"{tool} test {posixpath.basename(argv[-1]).removesuffix('.yml')}"
        return tool
    if "compose" in " ".join(argv[:2]):
        words = list(argv[argv.index("-f") + 2 :])
        if words[:3] == ["kill", "-s", "SIGHUP"]:
            return f"reload {words[3]}"
        if words[:1] == ["logs"]:
            return f"logs {words[-1]}"
        return "compose " + words[0]
    return " ".join(argv[:2])


def _relative(path: str) -> str:
    """A path in the deploy directory, a release by its number only (its name ends with the
    spec's sha256, which any change of rendering changes)."""
    rel = path[len(DEPLOY) + 1 :] if path.startswith(DEPLOY + "/") else path
    return re.sub(r"^releases/(\d{4,})-[0-9a-f]{12}", r"releases/\1", rel)
