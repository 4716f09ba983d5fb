"""`build --out` never replaces a directory that an earlier build did not write."""

from __future__ import annotations

from pathlib import Path

import pytest

from beast_observatory.bundle.write import write_tree
from beast_observatory.errors import ObservatoryError


def test_a_foreign_directory_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "local"
    (target / "important").mkdir(parents=True)
    (target / "important" / "notes.txt").write_text("data")
    with pytest.raises(ObservatoryError, match="was not written by `observatory build`"):
        write_tree(target, {"docker-compose.yml": b"services: {}\n"})
    assert (target / "important" / "notes.txt").read_text() == "data"


def test_a_directory_holding_only_env_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "local"
    target.mkdir()
    (target / ".env").write_text("X=1\n")
    write_tree(target, {"manifest.json": b"{}\n"})
    assert (target / ".env").read_text() == "X=1\n"
    assert (target / "manifest.json").exists()


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "local").write_text("not a directory")
    with pytest.raises(ObservatoryError, match="it is a file"):
        write_tree(tmp_path / "local", {"manifest.json": b"{}\n"})
