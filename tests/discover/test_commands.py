"""export and import through the CLI, with files in tmp_path (no host involved: --from)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from beast_observatory.cli.app import main
from beast_observatory.deploy.target import ConnectOptions
from beast_observatory.discover.commands import discover_target, keep_comments

from .handmade import RULES, handmade_inventory


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
    path.write_text(json.dumps(handmade_inventory().to_json()))
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
    # The host's environment, and the same stack on this workstation.
    assert list(spec["environments"]) == ["prod", "local"]
    assert (here / "out/rules/alerts.yml").read_text() == RULES
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
    source = saved_inventory(here)
    assert run("import", str(source), "--name", "vonnegut") == 0
    spec_path = here / "stacks/vonnegut/observatory.yaml"
    assert spec_path.is_file()
    assert (here / "stacks/vonnegut/rules/alerts.yml").is_file()
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


def test_discover_this_machine_writes_both_files(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = here / "deploy"
    deploy.mkdir()
    (deploy / "docker-compose.yml").write_text("services: {}\n")
    assert run("discover", "--out", "out", "--dir", str(deploy)) == 0
    inv = json.loads((here / "out/inventory.json").read_text())
    assert inv["directories"][str(deploy)]["docker-compose.yml"]["content"] == "services: {}\n"
    assert (here / "out/DISCOVERY.md").read_text().startswith("# Discovery of ")
    out = capsys.readouterr().out
    assert "this machine: " in out
    assert "1 round trip(s)" in out


def test_the_target_comes_from_the_spec_environment(here: Path) -> None:
    assert run("init", ".") == 0
    target = discover_target(None, "remote", ConnectOptions())
    assert target.host == "vonnegut"
    assert discover_target(None, "local", ConnectOptions()).host is None
    assert discover_target(None, None, ConnectOptions(host="h")).host == "h"
    (here / "observatory.yaml").unlink()
    assert discover_target(None, "remote", ConnectOptions()).host is None  # no spec: this machine


def test_export_without_output_says_the_side_files_need_it(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("export", "--from", str(saved_inventory(here))) == 0
    assert "need -o FILE" in capsys.readouterr().err


def test_import_of_a_missing_or_broken_file(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("import", "nothing.yaml") == 1
    assert "no such file" in capsys.readouterr().err
    (here / "broken.json").write_text("{")
    assert run("import", "broken.json") == 1
    assert "not JSON" in capsys.readouterr().err
