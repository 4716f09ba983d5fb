"""Problems with paths are user errors (exit 1, a message), never the bug hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from beast_observatory.cli.app import main


def test_init_into_a_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as done:
        main(["init", str(blocker)])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "Not a directory" in err
    assert "bug" not in err
