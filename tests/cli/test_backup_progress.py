"""The progress line of ``observatory backup`` and ``restore``: on a terminal only, one line
rewritten in place, cleared before a message."""

from __future__ import annotations

import pytest

from beast_observatory.cli import backup_commands
from beast_observatory.cli.backup_commands import _Terminal


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(backup_commands.time, "monotonic", clock)
    return clock


def test_a_long_copy_shows_its_bytes_and_rate_on_a_terminal(
    clock: _Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = _Terminal()
    terminal.live = True
    terminal.progress("data/prometheus.tar", 0)
    clock.now += 2.0
    terminal.progress("data/prometheus.tar", 4 << 20)
    clock.now += 0.1
    terminal.progress("data/prometheus.tar", 5 << 20)
    terminal.echo("done")

    out, err = capsys.readouterr()
    shown = [line.strip() for line in err.split("\r") if line.strip()]
    assert shown == [
        "data/prometheus.tar: 0 B (0 B/s)",
        "data/prometheus.tar: 4.0 MiB (2.0 MiB/s)",  # 5 MiB came too soon after: not shown
    ]
    assert err.endswith("\r")  # the line was cleared before the message
    assert out == "done\n"


def test_no_progress_when_stderr_is_not_a_terminal(
    clock: _Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = _Terminal()  # pytest's captured stderr is no terminal
    assert terminal.live is False
    clock.now += 5.0
    terminal.progress("data/grafana.tar", 1 << 20)
    terminal.echo("done")
    assert capsys.readouterr() == ("done\n", "")
