"""Writing a bundle to ``generated/<env>/`` atomically, and checking a tree against one.

The whole directory is swapped in one step, so a reader (or a failed build) never sees a
half-written tree. ``.env`` holds the operator's secrets: it is never written, listed or removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from beast_observatory.errors import ObservatoryError

PRESERVED = frozenset({".env"})
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass(frozen=True)
class TreeDrift:
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative posix path -> bytes), without preserved files."""
    if not root.is_dir():
        return {}
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in PRESERVED:
            out[rel] = path.read_bytes()
    return out


def check_tree(root: Path, files: Mapping[str, bytes]) -> TreeDrift:
    current = read_tree(root)
    return TreeDrift(
        missing=tuple(sorted(set(files) - set(current))),
        stale=tuple(sorted(p for p in files if p in current and current[p] != files[p])),
        extra=tuple(sorted(set(current) - set(files))),
    )


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE) where the kernel has it."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return False
    rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return int(rc) == 0


def _unchanged(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _fill(staging: Path, files: Mapping[str, bytes], previous: Path) -> None:
    """Write files into staging; a file equal to its previous version is hard-linked instead.

    Linking saves writing it and, above all, freeing its blocks when the previous tree is
    removed (slow on file systems mounted with `discard`); the old tree is never changed."""
    made: set[Path] = set()
    for rel, data in files.items():
        target = staging / rel
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        old = previous / rel
        if _unchanged(old, data):
            try:
                os.link(old, target)
                continue
            except OSError:
                pass  # no hard links here (another file system, FAT): write it
        target.write_bytes(data)
    for name in PRESERVED:
        if (previous / name).is_file():
            shutil.copy2(previous / name, staging / name)


def _refuse_foreign(root: Path) -> None:
    """Never replace a directory an earlier build did not write: it may hold anything."""
    if root.is_file():
        raise ObservatoryError(f"cannot write {root}: it is a file", hint="choose another --out")
    if not root.is_dir() or (root / "manifest.json").is_file():
        return
    foreign = [p.name for p in root.iterdir() if p.name not in PRESERVED]
    if foreign:
        raise ObservatoryError(
            f"{root} exists and was not written by `observatory build` (no manifest.json; "
            f"it holds {', '.join(sorted(foreign)[:3])}{' ...' if len(foreign) > 3 else ''})",  # noqa: PLR2004
            hint="choose another --out, or move that directory away first",
        )


def write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    """Replace root with exactly files (plus preserved ones), in one atomic swap."""
    root = root.absolute()
    _refuse_foreign(root)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.new-", dir=root.parent))
    except OSError as exc:
        raise ObservatoryError(
            f"cannot write {root}: {exc.strerror}",
            hint="check the --out directory and its permissions",
        ) from None
    try:
        _fill(staging, files, root)
        staging.chmod(0o755)
        if root.is_dir() and _exchange(staging, root):
            shutil.rmtree(staging)  # staging now holds the previous tree
            return
        old = root.parent / f".{root.name}.old-{os.getpid()}"
        if root.exists():
            root.rename(old)
        staging.rename(root)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise ObservatoryError(
            f"cannot write {root}: {exc}", hint="the previous output is unchanged"
        ) from None
