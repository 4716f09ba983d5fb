"""Run the real probe (the script build.py makes) on this machine with a PATH of our choosing
(no Docker needed).

``fake_docker`` writes a ``docker`` shell script that answers like a Docker CLI would for the
few commands the probe runs, from canned records: enough to drive every branch of the probe
(secrets in env/labels/flags, a container that vanishes between `ps` and `inspect`, mounts of
config files, config copied out of a container, an API that does not answer) without an engine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from beast_observatory.host.probe.run import ProbeRun, run_probe
from beast_observatory.host.transport.local import LocalTransport

US = "\x1f"
BUSYBOX = shutil.which("busybox")


def tool_dir(root: Path, *, busybox: bool = False) -> Path:
    """A bin directory holding the host's tools without docker (or only busybox applets)."""
    bin_dir = root / ("busybox-bin" if busybox else "bin")
    bin_dir.mkdir(parents=True, exist_ok=True)
    if busybox:
        assert BUSYBOX is not None, (
            "busybox is needed (scripts/ci-setup.sh installs busybox-static)"
        )
        for applet in (
            "sh",
            "awk",
            "sed",
            "od",
            "tr",
            "cut",
            "wc",
            "cat",
            "head",
            "tail",
            "sort",
            "find",
            "grep",
            "mktemp",
            "rm",
            "mkdir",
            "uname",
            "base64",
            "sha256sum",
            "printf",
            "wget",
            "tar",
        ):
            (bin_dir / applet).symlink_to(BUSYBOX)
        return bin_dir
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            if not tool.name.startswith("docker") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    return bin_dir


def free_port() -> int:
    """A port nothing listens on (an API that does not answer)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def probe(bin_dir: Path, dirs: list[str] | None = None, *, shell: str = "sh") -> ProbeRun:
    env = {"PATH": f"{bin_dir}"}
    if shell != "sh":
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return run_probe(LocalTransport(), dirs or [], env=env)


def fake_docker(
    bin_dir: Path,
    replies: dict[str, str],
    stderr: dict[str, str] | None = None,
    *,
    copies: dict[str, Path] | None = None,
) -> None:
    """A `docker` answering `docker <first two words>` with replies[...] (stdout) and
    stderr[...]; exit 1 when stderr is given for it, 127-like silence for anything unknown.

    copies maps "CONTAINER:DIR" to a folder on this machine: `docker cp CONTAINER:DIR/. -`
    prints it as a tar stream, as the engine prints what the container sees at DIR."""
    cases = []
    for key, out in replies.items():
        err = (stderr or {}).get(key, "")
        out_file = bin_dir / f".reply-{key.replace(' ', '_')}"
        out_file.write_text(out)
        err_file = bin_dir / f".error-{key.replace(' ', '_')}"
        err_file.write_text(err)
        code = 1 if err else 0
        cases.append(f'  "{key}") cat "{out_file}"; cat "{err_file}" >&2; exit {code} ;;')
    for source, folder in (copies or {}).items():
        cases.append(f'  "cp {source}/.") exec tar -C "{folder}" -cf - . ;;')
    script = "\n".join(
        [
            "#!/bin/sh",
            'case "$1 $2" in',
            *cases,
            '  "cp "*) echo "Error response from daemon: Could not find the file $2" >&2',
            "    exit 1 ;;",
            '  *) echo "docker: unknown command $1 $2" >&2; exit 1 ;;',
            "esac",
            "",
        ]
    )
    path = bin_dir / "docker"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


IMAGE_ID = "sha256:" + "1" * 64


def ps_lines(*ids: str, names: Mapping[str, str] | None = None, project: str = "") -> str:
    """What the probe's `docker ps -a --format ID<US>NAMES<US>PROJECT` prints for containers
    (names default to the id's first 12 digits; every one in compose project ``project``)."""
    return "".join(f"{i}{US}{(names or {}).get(i, i[:12])}{US}{project}\n" for i in ids)


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def inspect_lines(
    cid: str,
    name: str,
    image: str,
    *,
    entrypoint: Sequence[str] = (),
    cmd: Sequence[str] = (),
    env: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    mounts: Sequence[Mapping[str, Any]] = (),
    ports: Mapping[str, list[dict[str, str]]] | None = None,
    running: bool = True,
    healthcheck: Sequence[str] | None = None,
    config: Mapping[str, Any] | None = None,
    host_config: Mapping[str, Any] | None = None,
    log_options: Mapping[str, str] | None = None,
    networks: Mapping[str, Mapping[str, Any]] | None = None,
    image_id: str = IMAGE_ID,
) -> str:
    """What the probe's container template (parts/container.tmpl) makes docker print for one
    container."""
    labels = labels or {}
    ports = ports or {}
    record = {
        "k": "container",
        "id": cid,
        "name": f"/{name}",
        "image": image,
        "image_id": image_id,
        "user": "",
        "restart_policy": "unless-stopped",
        "restart_max": 0,
        "config": dict(config or {}),
        "host_config": dict(host_config or {}),
        "healthcheck": None
        if healthcheck is None
        else {"Interval": 30_000_000_000, "Timeout": 0, "StartPeriod": 0, "Retries": 3},
        "mounts": list(mounts),
        "port_bindings": ports,
        "ports": ports,
        "state": {
            "status": "running" if running else "exited",
            "health": None,
            "started_at": "2024-01-01T00:00:00Z",
            "pid": 42,
            "exit_code": 0,
        },
    }
    lines = [_json(record)]
    for field, args in (("entrypoint", entrypoint), ("cmd", cmd), ("healthcheck", healthcheck)):
        lines += [
            _json({"k": "arg", "c": cid, "f": field, "i": i, "v": a})
            for i, a in enumerate(args or ())
        ]
    lines += [_json({"k": "env", "c": cid, "v": e}) for e in env]
    lines += [_json({"k": "label", "c": cid, "v": f"{k}={v}"}) for k, v in sorted(labels.items())]
    lines += [
        _json({"k": "logopt", "c": cid, "v": f"{k}={v}"})
        for k, v in sorted((log_options or {}).items())
    ]
    for net, attachment in sorted((networks or {"bridge": {}}).items()):
        lines.append(
            _json(
                {
                    "k": "net",
                    "c": cid,
                    "v": net,
                    "aliases": attachment.get("aliases"),
                    "ipv4": attachment.get("ipv4", ""),
                }
            )
        )
    published = " ".join(
        f"{p}={b['HostIp']}:{b['HostPort']}" for p, bs in ports.items() for b in bs
    )
    lines.append(
        US.join(
            [
                "@svc",
                cid,
                f"/{name}",
                image,
                image_id,
                " ".join(entrypoint) + " ",
                " ".join(cmd) + " ",
                "true" if running else "false",
                published + " ",
            ]
        )
    )
    lines += [
        US.join(["@mnt", cid, m["Type"], m["Source"], m["Destination"], str(m["RW"]).lower()])
        for m in mounts
    ]
    lines.append(
        US.join(
            [
                "@proj",
                labels.get("com.docker.compose.project", ""),
                labels.get("com.docker.compose.project.working_dir", ""),
                labels.get("com.docker.compose.project.config_files", ""),
                "",
            ]
        )
    )
    return "\n".join(lines) + "\n"


def image_lines(
    iid: str = IMAGE_ID,
    *,
    env: Sequence[str] = (),
    entrypoint: Sequence[str] = (),
    cmd: Sequence[str] = (),
    **fields: Any,
) -> str:
    """What the probe's image template (parts/image.tmpl) makes docker print for one image;
    fields: repo_digests, repo_tags, user, working_dir, exposed, labels, volumes, stop_signal."""
    lines = [_json({"k": "image", "id": iid, **fields})]
    lines += [_json({"k": "ienv", "c": iid, "v": e}) for e in env]
    for field, args in (("entrypoint", entrypoint), ("cmd", cmd)):
        lines += [
            _json({"k": "iarg", "c": iid, "f": field, "i": i, "v": a}) for i, a in enumerate(args)
        ]
    return "\n".join(lines) + "\n"


def bind(source: Path | str, destination: str, *, rw: bool = False) -> dict[str, Any]:
    """A bind mount as docker inspect shows it."""
    return {
        "Type": "bind",
        "Source": str(source),
        "Destination": destination,
        "Mode": "rw" if rw else "ro",
        "RW": rw,
        "Propagation": "rprivate",
    }
