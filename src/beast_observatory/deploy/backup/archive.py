"""The backup archive on this machine: a plain tar whose first member is manifest.json.

Written incrementally: a part streams from the host straight into the file, so no part is ever
held in memory, and no part needs a copy of its own on disk. The manifest comes first but is
known last (it holds every part's sha256): its place is kept at the start, padded, and filled
in at the end; a part's size is known once it has streamed, so its tar header is written again
over the first one. All of it goes to ``FILE.partial`` (mode 0600: the data is the stack's),
renamed to FILE once complete, so a backup cut short never looks like a whole one.

Reading checks everything before a byte is restored: the manifest first, then every member's
size and sha256, and that the archive holds nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from beast_observatory.deploy.backup.manifest import (
    MANIFEST_MEMBER,
    ArchiveError,
    BackupManifest,
    Digest,
    digest_of,
    parse_manifest,
)

BLOCK = 512
CHUNK = 1 << 20
_MANIFEST_LIMIT = 64 << 20
Progress = Callable[[str, int], object]  # (member, bytes so far)


def _header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, mtime
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


class ArchiveWriter:
    """``with ArchiveWriter(path, room) as archive: archive.add(...); archive.finish(m)``:
    ``room`` bytes are kept for the manifest; leaving the block without ``finish`` (an error)
    removes the partial file."""

    def __init__(self, path: Path, room: int) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.room = room
        self.mtime = int(time.time())
        self._file: IO[bytes] | None = None
        self._done = False

    def __enter__(self) -> ArchiveWriter:
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._file.write(_header(MANIFEST_MEMBER, self.room, self.mtime))
        self._file.write(b" " * self.room + _padding(self.room))
        return self

    @property
    def file(self) -> IO[bytes]:
        if self._file is None:
            raise RuntimeError("the archive is not open")
        return self._file

    def add(self, name: str, data: bytes) -> Digest:
        self.file.write(_header(name, len(data), self.mtime) + data + _padding(len(data)))
        return digest_of(data)

    def add_stream(
        self, name: str, chunks: Iterable[bytes], progress: Progress | None = None
    ) -> Digest:
        """A member whose size is known once its chunks are all written."""
        if len(name.encode()) >= 100:  # noqa: PLR2004 - a longer name takes more than one block
            raise ValueError(f"{name}: a streamed member's name must be short")
        start = self.file.tell()
        self.file.write(_header(name, 0, self.mtime))
        size, digest = 0, hashlib.sha256()
        for chunk in chunks:
            self.file.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            if progress is not None:
                progress(name, size)
        self.file.write(_padding(size))
        end = self.file.tell()
        self.file.seek(start)
        self.file.write(_header(name, size, self.mtime))
        self.file.seek(end)
        return Digest(size, digest.hexdigest())

    def finish(self, manifest: BackupManifest) -> int:
        """Fill in the manifest, end the tar, make it durable, rename it into place; its size."""
        data = manifest.to_bytes(self.room)
        self.file.write(b"\0" * (2 * BLOCK))  # the end of a tar
        size = self.file.tell()
        self.file.seek(BLOCK)
        self.file.write(data)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        self.partial.replace(self.path)
        self._done = True
        return size

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        if not self._done:
            self.partial.unlink(missing_ok=True)


def read_manifest(path: Path) -> BackupManifest:
    """The manifest of the archive at path (its first member); nothing else is checked."""
    with _opened(path) as tar:
        return _first(tar, path)


def _first(tar: tarfile.TarFile, path: Path) -> BackupManifest:
    first = tar.next()
    if first is None or first.name != MANIFEST_MEMBER or not first.isfile():
        raise ArchiveError(
            f"{path}: not a backup of beast-observatory (its first member is not "
            f"{MANIFEST_MEMBER})",
            hint="give the file `observatory backup --output` wrote",
        )
    if first.size > _MANIFEST_LIMIT:
        raise ArchiveError(f"{path}: its manifest is too big ({first.size} bytes) to be ours")
    return parse_manifest(_read(tar, first), str(path))


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise ArchiveError(f"{member.name}: not a file")
    return handle.read()


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(path, "r:") as tar:
            yield tar
    except tarfile.TarError as exc:
        raise ArchiveError(
            f"{path}: the archive is damaged or not a tar: {exc}",
            hint="nothing was restored; use another copy of the backup",
        ) from None


def verify_archive(path: Path, progress: Progress | None = None) -> BackupManifest:
    """The manifest, once every member the manifest lists is in the archive with its size and
    sha256, and nothing else is; else ArchiveError naming what is wrong."""
    with _opened(path) as tar:
        manifest = _first(tar, path)
        expected = manifest.members()
        seen: set[str] = set()
        while (member := tar.next()) is not None:  # iterating would start again at the manifest
            want = expected.get(member.name)
            if want is None or member.name in seen or not member.isfile():
                raise _damaged(path, f"{member.name}: a member its manifest does not list")
            seen.add(member.name)
            got = _digest(tar, member, progress)
            if got != want:
                raise _damaged(
                    path,
                    f"{member.name}: {got.size} bytes with sha256 {got.sha256[:12]}..., the "
                    f"manifest says {want.size} bytes with sha256 {want.sha256[:12]}...",
                )
        missing = sorted(set(expected) - seen)
        if missing:
            raise _damaged(path, f"members missing: {', '.join(missing)}")
    return manifest


def _damaged(path: Path, why: str) -> ArchiveError:
    return ArchiveError(
        f"{path}: the archive is damaged: {why}",
        hint="nothing was restored; use another copy of the backup",
    )


def _digest(tar: tarfile.TarFile, member: tarfile.TarInfo, progress: Progress | None) -> Digest:
    digest, size = hashlib.sha256(), 0
    for chunk in member_chunks(tar, member):
        digest.update(chunk)
        size += len(chunk)
        if progress is not None:
            progress(member.name, size)
    return Digest(size, digest.hexdigest())


def member_chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    handle = tar.extractfile(member)
    if handle is None:
        raise ArchiveError(f"{member.name}: not a file")
    while chunk := handle.read(CHUNK):
        yield chunk


@contextlib.contextmanager
def members(path: Path) -> Iterator[Callable[[str], Iterator[bytes]]]:
    """``with members(path) as chunks: for chunk in chunks("data/grafana.tar"): ...``."""
    with _opened(path) as tar:
        by_name = {m.name: m for m in tar.getmembers()}

        def chunks(name: str) -> Iterator[bytes]:
            member = by_name.get(name)
            if member is None:
                raise ArchiveError(f"{path}: no member {name}")
            return member_chunks(tar, member)

        yield chunks
