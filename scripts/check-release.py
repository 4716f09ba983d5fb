#!/usr/bin/env python3
"""Check that a release tag matches the package version and has a CHANGELOG entry.

Usage: python scripts/check-release.py TAG [--root DIR]

TAG is the git tag being released, e.g. v0.1.0 (a leading "v" is optional). The version
lives in one place, ``__version__`` in src/beast_observatory/__init__.py (the build reads it
from there too); CHANGELOG.md must have a ``## [X.Y.Z]`` heading for it. Exit 0 when both
hold, 1 with a message saying what to fix otherwise. The release workflow runs this before
it builds anything.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

VERSION_FILE = Path("src/beast_observatory/__init__.py")
CHANGELOG = Path("CHANGELOG.md")
_TAG = re.compile(r"^v?(?P<version>\d+\.\d+\.\d+(?:[-.]?(?:a|b|rc|dev|post)\.?\d+)*)$")


class ReleaseError(Exception):
    """The release cannot go ahead; the message says why and what to do."""


def package_version(root: Path) -> str:
    """``__version__`` as written in the source, without importing the package."""
    path = root / VERSION_FILE
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise ReleaseError(f"{path}: cannot read the version: {exc}") from exc
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise ReleaseError(f'{path}: no `__version__ = "X.Y.Z"` line found')


def tag_version(tag: str) -> str:
    tag = tag.strip().removeprefix("refs/tags/")
    match = _TAG.match(tag)
    if match is None:
        raise ReleaseError(f"tag {tag!r} is not a release tag: expected vX.Y.Z, e.g. v0.1.0")
    return match.group("version")


def changelog_has(root: Path, version: str) -> bool:
    path = root / CHANGELOG
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReleaseError(f"{path}: cannot read the changelog: {exc}") from exc
    heading = re.compile(rf"^## \[{re.escape(version)}\](?:\s|$)", re.MULTILINE)
    return heading.search(text) is not None


def check_release(tag: str, root: Path) -> str:
    """The version being released; raises ReleaseError when the release is not ready."""
    version = tag_version(tag)
    source = package_version(root)
    if version != source:
        raise ReleaseError(
            f"tag {tag} says version {version}, but {VERSION_FILE} says {source}: "
            f"set __version__ = {version!r} there (and tag that commit), or tag v{source}"
        )
    if not changelog_has(root, version):
        raise ReleaseError(
            f"{CHANGELOG} has no entry for {version}: add a `## [{version}] - YYYY-MM-DD` "
            "section (move the items from `## [Unreleased]` into it) before tagging"
        )
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag", help="the tag being released, e.g. v0.1.0")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="repository root (default: this script's repository)",
    )
    args = parser.parse_args(argv)
    try:
        version = check_release(args.tag, args.root)
    except ReleaseError as exc:
        print(f"release check failed: {exc}", file=sys.stderr)
        return 1
    print(f"release check passed: {args.tag} = beast-observatory {version}, CHANGELOG entry found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
