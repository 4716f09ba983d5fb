"""Reading and writing files on a host as commands (host/scripts/files.sh), so that they can
go through the host lock's session and into batches like any other command."""

from __future__ import annotations

import posixpath
import secrets

from beast_observatory.errors import TransportError
from beast_observatory.host.shell import host_script
from beast_observatory.host.transport.base import Command, CommandResult, Transport

FILES = host_script("files.sh")
_MISSING = 3  # files.sh read: no such file


def read_command(path: str) -> Command:
    return FILES.command("read", path, stops=False)


def read_answer(result: CommandResult | None, where: str, path: str) -> bytes | None:
    """The content read_command found, or None when there is no such file."""
    if result is None or result.exit_code == _MISSING:
        return None
    if not result.ok:
        raise TransportError(
            f"{where}: cannot read {path}: {_said(result)}",
            hint="check that the SSH user may read it",
        )
    return result.stdout


def read_files(host: Transport, folder: str, paths: list[str]) -> dict[str, bytes]:
    """The files of folder at these relative paths that exist, read in one round trip."""
    answers = host.run_batch([read_command(posixpath.join(folder, p)) for p in paths])
    out = {}
    for rel, answer in zip(paths, answers, strict=True):
        data = read_answer(answer, host.description, rel)
        if data is not None:
            out[rel] = data
    return out


def temporary_name(path: str) -> str:
    """Where a write goes before its rename (``.<name>.tmp-<random>``, the name sync sweeps)."""
    return f".{posixpath.basename(path)}.tmp-{secrets.token_hex(6)}"


def write_command(path: str, data: bytes, mode: int = 0o644) -> Command:
    return FILES.command(
        "write", path, f"{mode:o}", temporary_name(path), str(len(data)), stdin=data
    )


def mkdir_command(path: str, mode: int = 0o755) -> Command:
    return FILES.command("mkdir", path, f"{mode:o}")


def remove_command(path: str) -> Command:
    return FILES.command("remove", path)


def check_done(result: CommandResult | None, transport: Transport, doing: str, path: str) -> None:
    if result is None or not result.ok:
        why = _said(result) if result is not None else "an earlier step failed"
        raise TransportError(
            f"{transport.description}: cannot {doing} {path}: {why}",
            hint="check that the directory exists and that the SSH user may write there",
        )


def _said(result: CommandResult) -> str:
    text = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
    return text[-300:] or f"exit {result.exit_code}"
