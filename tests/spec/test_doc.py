"""docs/SPEC.md is rendered from the JSON Schema and kept current."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from beast_observatory.spec.doc import render_spec_doc
from beast_observatory.spec.schema import spec_schema

ROOT = Path(__file__).resolve().parents[2]
SPEC_DOC = ROOT / "docs" / "SPEC.md"
REGENERATE = "python scripts/gen-spec-doc.py"


def load_generator() -> ModuleType:
    path = ROOT / "scripts" / "gen-spec-doc.py"
    spec = importlib.util.spec_from_file_location("gen_spec_doc", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def reorder(node: Any) -> Any:
    """The same schema with every mapping's keys in reverse order (lists keep theirs)."""
    if isinstance(node, dict):
        return {k: reorder(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [reorder(item) for item in node]
    return node


def test_committed_spec_doc_is_current() -> None:
    expected = render_spec_doc(spec_schema())
    current = SPEC_DOC.read_text(encoding="utf-8") if SPEC_DOC.exists() else ""
    assert current == expected, (
        f"docs/SPEC.md is stale (the spec models changed): run `{REGENERATE}` and commit it"
    )


def test_every_field_of_every_object_has_a_row() -> None:
    schema = spec_schema()
    rendered = sections(render_spec_doc(schema))
    objects = {"Top level": schema, **schema["$defs"]}
    for name, node in objects.items():
        assert name in rendered, f"no section for {name}"
        for field in node.get("properties", {}):
            assert f"| `{field}` |" in rendered[name], f"{name}.{field} is missing"


def test_output_does_not_depend_on_key_order() -> None:
    schema = spec_schema()
    assert render_spec_doc(reorder(schema)) == render_spec_doc(schema)


SMALL_SCHEMA: dict[str, Any] = {
    "description": "A tiny spec.",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^(a|b)$", "description": "Pick a or b."},
        "port": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "default": None},
        "mode": {"enum": ["fast", "safe"], "default": "safe"},
        "retention": {"$ref": "#/$defs/Retention", "default": {"time": "15d"}},
        "labels": {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "string"}}},
    },
    "$defs": {
        "Retention": {
            "description": "How long data is kept.",
            "properties": {"time": {"type": "string", "default": "15d"}},
        },
        "Orphan": {"properties": {"x": {"type": "boolean"}}},
        "FreeForm": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def test_small_schema_renders_types_defaults_and_links() -> None:
    doc = render_spec_doc(SMALL_SCHEMA)
    top = sections(doc)["Top level"]
    rows = [line for line in top.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `name` | string | *required* | matches `^(a\\|b)$`")
    assert "Pick a or b." in rows[0]
    assert "| `port` | integer or null | `null` | ≥ 1 |" in top
    assert '| `mode` | one of `"fast"`, `"safe"` | `"safe"` |' in top
    assert "| `retention` | [Retention](#retention) | the defaults of its fields |" in top
    assert "How long data is kept." in top  # a referenced object's description stands in
    assert "| `labels` | map of name → string | optional | names match `^[a-z]+$` |" in top
    # Sections: as met from the top level, then unreferenced definitions.
    assert list(sections(doc)) == ["Top level", "Retention", "FreeForm", "Orphan"]
    assert "Any mapping: map of name → string." in sections(doc)["FreeForm"]
    assert doc.endswith("\n")
    assert not doc.endswith("\n\n")


def test_generator_check_reports_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = load_generator()
    target = tmp_path / "SPEC.md"
    target.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(generator, "SPEC_DOC", target)

    assert generator.main(["--check"]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "# old\n"

    assert generator.main([]) == 0
    assert target.read_text(encoding="utf-8") == render_spec_doc(spec_schema())
    assert generator.main(["--check"]) == 0
