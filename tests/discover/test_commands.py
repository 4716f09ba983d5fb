"""export and import through the CLI, with files in tmp_path (no host involved: --from)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from beast_observatory.cli.app import main
from beast_observatory.discover.commands import keep_comments

from .test_export import inventory


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    return int(done.value.code or 0)


def saved_inventory(directory: Path) -> Path:
    path = directory / "inventory.json"
    path.write_text(json.dumps(inventory()))
    return path


def test_export_from_a_saved_inventory_writes_spec_and_side_files(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = saved_inventory(here)
    assert (
        run("export", "--from", str(source), "-o", "out/observatory.yaml", "--environment", "prod")
        == 0
    )
    spec = yaml.safe_load((here / "out/observatory.yaml").read_text())
    assert list(spec["environments"]) == ["prod"]
    assert (here / "out/rules/alerts.yml").read_text() == "groups: []\n"
    assert "note: " in capsys.readouterr().err


def test_export_prints_the_spec_without_output(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("export", "--from", str(saved_inventory(here)), "--project", "zzz") == 0
    out = capsys.readouterr().out
    assert yaml.safe_load(out)["project"] == "zzz"
    assert list(yaml.safe_load(out)["environments"]) == ["local"]


def test_export_of_an_unknown_project_is_a_user_error(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("export", "--from", str(saved_inventory(here)), "--project", "nope") == 1
    assert "no container of compose project 'nope'" in capsys.readouterr().err


def test_import_an_inventory_then_refuse_then_force(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = inventory()
    source = here / "inventory.json"
    source.write_text(json.dumps(inv))
    assert run("import", str(source), "--name", "vonnegut") == 0
    spec_path = here / "stacks/vonnegut/observatory.yaml"
    assert spec_path.is_file()
    assert (here / "stacks/vonnegut/rules/more.yml").is_file()
    assert run("import", str(source), "--name", "vonnegut") == 1
    assert "--force" in capsys.readouterr().err
    spec_path.write_text(
        "# the operator's note\n"
        + spec_path.read_text().replace("  prometheus:\n", "  prometheus:  # the main one\n", 1)
    )
    assert run("import", str(source), "--name", "vonnegut", "--force") == 0
    text = spec_path.read_text()
    assert "# the operator's note" in text
    assert "# the main one" in text


def test_import_a_spec_keeps_its_comments_and_files(here: Path) -> None:
    assert run("init", "src") == 0
    assert run("import", "src/observatory.yaml") == 0
    written = here / "stacks/beast-observatory/observatory.yaml"
    assert "# The Beast observatory" in written.read_text()
    assert (here / "stacks/beast-observatory/rules/observatory-alerts.yml").is_file()
    assert run("validate", "-f", str(written)) == 0


def test_import_refuses_a_bad_name_and_an_invalid_spec(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("import", str(saved_inventory(here)), "--name", "../escape") == 1
    (here / "bad.yaml").write_text("version: 1\nproject: x\nenvironments: {}\n")
    assert run("import", "bad.yaml") == 1
    assert not (here / "stacks" / "x").exists()


def test_keep_comments_applies_new_values_on_the_old_layout() -> None:
    base = "# top\na: 1  # one\nb:\n  - x: 1  # item\n  - y\ngone: 3\n"
    new = "a: 2\nb:\n  - x: 1\n  - z\nadded: 4\n"
    merged = keep_comments(base, new)
    assert yaml.safe_load(merged) == yaml.safe_load(new)
    assert "# top" in merged
    assert "# item" in merged
