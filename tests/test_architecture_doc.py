"""docs/ARCHITECTURE.md names every module of the package, and only paths that exist.

A module added, moved or removed without the page following fails here, so the page a new
reader starts from cannot go stale silently.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "beast_observatory"
DOC = ROOT / "docs" / "ARCHITECTURE.md"

# A file in a code span: a Python module, or a shell, awk or template file with its folder
# (a bare `lock.sh` beside its full path in the same sentence is not checked twice).
_FILE = re.compile(r"`([\w.*/-]+\.(?:py|sh|awk|tmpl))`")


def modules() -> set[str]:
    """Every Python module of the package, by its path relative to the package."""
    return {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }


def named_paths(text: str) -> set[str]:
    return {p for p in _FILE.findall(text) if p.endswith(".py") or "/" in p}


def existing(path: str) -> bool:
    """A path of the package (or of the repository when it starts with tests/ or src/);
    a glob such as kinds/*/read.py must match at least one file."""
    base = ROOT if path.startswith(("tests/", "src/")) else PACKAGE
    return any(base.glob(path)) if "*" in path else (base / path).is_file()


def test_the_path_pattern_reads_paths_in_code_spans_only() -> None:
    text = "`kinds/prometheus/render.py`, `host/probe/parts/redact.awk`, `names.py`, `lock.sh`"
    assert named_paths(text) == {
        "kinds/prometheus/render.py",
        "host/probe/parts/redact.awk",
        "names.py",
    }
    assert named_paths("kinds/read.py outside code, `observatory.yaml`") == set()


def test_every_module_is_named() -> None:
    named = named_paths(DOC.read_text(encoding="utf-8"))
    missing = sorted(modules() - named)
    assert modules(), f"no modules found under {PACKAGE}"
    assert not missing, f"{DOC.name} does not name these modules: {', '.join(missing)}"


def test_every_path_named_exists() -> None:
    named = named_paths(DOC.read_text(encoding="utf-8"))
    gone = sorted(p for p in named if not existing(p))
    assert not gone, f"{DOC.name} names paths that do not exist: {', '.join(gone)}"
