"""Run the real probe.sh on this machine with a PATH of our choosing (no Docker needed).

``fake_docker`` writes a ``docker`` shell script that answers like a Docker CLI would for the
few commands the probe runs, from canned records: enough to drive every branch of the probe
(secrets in env/labels/flags, a container that vanishes between `ps` and `inspect`, mounts of
config files, an API that does not answer) without an engine.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

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
        ):
            (bin_dir / applet).symlink_to(BUSYBOX)
        return bin_dir
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            if not tool.name.startswith("docker") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    return bin_dir


def probe(bin_dir: Path, dirs: list[str] | None = None, *, shell: str = "sh") -> ProbeRun:
    env = {"PATH": f"{bin_dir}"}
    if shell != "sh":
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return run_probe(LocalTransport(), dirs or [], env=env)


def fake_docker(
    bin_dir: Path, replies: dict[str, str], stderr: dict[str, str] | None = None
) -> None:
    """A `docker` answering `docker <first two words>` with replies[...] (stdout) and
    stderr[...]; exit 1 when stderr is given for it, 127-like silence for anything unknown."""
    cases = []
    for key, out in replies.items():
        err = (stderr or {}).get(key, "")
        out_file = bin_dir / f".reply-{key.replace(' ', '_')}"
        out_file.write_text(out)
        err_file = bin_dir / f".error-{key.replace(' ', '_')}"
        err_file.write_text(err)
        code = 1 if err else 0
        cases.append(f'  "{key}") cat "{out_file}"; cat "{err_file}" >&2; exit {code} ;;')
    script = "\n".join(
        [
            "#!/bin/sh",
            'case "$1 $2" in',
            *cases,
            '  *) echo "docker: unknown command $1 $2" >&2; exit 1 ;;',
            "esac",
            "",
        ]
    )
    path = bin_dir / "docker"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
