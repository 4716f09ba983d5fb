"""``observatory init``: write the embedded default stack into a folder."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from beast_observatory.errors import ObservatoryError
from beast_observatory.spec.schema import schema_version_url

SPEC_NAME = "observatory.yaml"


def default_stack() -> dict[str, bytes]:
    """The embedded default stack: relative path -> content."""
    root = resources.files("beast_observatory") / "defaults" / "stack"
    out: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            elif not child.name.startswith("."):
                out[rel] = child.read_bytes()

    walk(root, "")
    return out


def modeline(schema_ref: str) -> bytes:
    return f"# yaml-language-server: $schema={schema_ref}\n".encode()


def init_stack(target: Path, *, force: bool = False, schema_ref: str | None = None) -> list[Path]:
    """Write the default spec and its dashboards/rules; refuse to overwrite without force."""
    files = default_stack()
    files[SPEC_NAME] = modeline(schema_ref or schema_version_url()) + files[SPEC_NAME]
    existing = [target / rel for rel in files if (target / rel).exists()]
    if existing and not force:
        raise ObservatoryError(
            f"{existing[0]} already exists ({len(existing)} file(s) would be overwritten)",
            hint="pass --force to overwrite, or init into an empty folder",
        )
    written = []
    for rel, data in sorted(files.items()):
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
