"""The builder: the parts become the one script that is sent, with every awk program and
template in its variable exactly as its file says."""

from __future__ import annotations

import subprocess

import pytest

from beast_observatory.host.probe.build import (
    PART_HEADER,
    PARTS,
    BuildError,
    assemble,
    part_names,
    probe_script,
    read_part,
)
from beast_observatory.host.probe.secret_rules_awk import render


def parts() -> dict[str, str]:
    return {name: read_part(name) for name in part_names()}


def variables(*names: str) -> dict[str, str]:
    """The values the built script gives these variables (run without its last line, main)."""
    script = probe_script().decode()
    body, last = script.rstrip("\n").rsplit("\n", 1)
    assert last == 'main "$@" </dev/null'
    show = "".join(f'printf "%s\\0" "${name}"\n' for name in names)
    done = subprocess.run(
        ["sh", "-s"], input=(body + "\n" + show).encode(), capture_output=True, check=True
    )
    return dict(zip(names, done.stdout.decode().split("\0")[: len(names)], strict=True))


def test_every_shell_part_is_in_the_script_once_and_in_order() -> None:
    files = parts()
    assert sorted(n for n in files if n.endswith(".sh")) == sorted(PARTS)
    script = probe_script().decode()
    assert "#@insert" not in script
    marks = [script.index(files[p].splitlines()[1]) for p in PARTS]
    assert marks == sorted(marks)
    assert script.startswith("# shellcheck shell=sh\n# beast-observatory discovery probe.\n")


def test_awk_programs_and_templates_reach_their_variables_as_written() -> None:
    values = variables("REDACT_AWK", "PLAN_AWK", "CONTAINER_TEMPLATE", "IMAGE_TEMPLATE")
    assert values["REDACT_AWK"] == render() + read_part("redact.awk").rstrip("\n")
    assert values["PLAN_AWK"] == read_part("plan.awk").rstrip("\n")
    assert values["CONTAINER_TEMPLATE"] == read_part("container.tmpl").rstrip("\n")
    assert values["IMAGE_TEMPLATE"] == read_part("image.tmpl").rstrip("\n")


def test_building_is_deterministic_and_cached() -> None:
    assert probe_script() is probe_script()
    assert assemble(parts()).encode() == probe_script()


def _with(part: str, text: str) -> dict[str, str]:
    files = parts()
    files[part] = PART_HEADER + text
    return files


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("#@insert plan.awk\n", "outside a quoted here-document"),
        ("X=$(cat <<EOF\n#@insert plan.awk\nEOF\n)\n", "outside a quoted here-document"),
        ("X=$(cat <<'AWK'\n#@insert nothing.awk\nAWK\n)\n", "nothing.awk: no such part"),
        ("X=$(cat <<'AWK'\n#@insert plan.awk\n", "'AWK' is not closed"),
    ],
)
def test_parts_that_do_not_make_a_script(text: str, why: str) -> None:
    with pytest.raises(BuildError, match=why):
        assemble(_with("main.sh", text))


def test_a_program_that_would_end_its_here_document_early() -> None:
    files = _with("main.sh", "X=$(cat <<'EOF'\n#@insert image.tmpl\nEOF\n)\n")
    files["image.tmpl"] = "{{.Id}}\nEOF\necho injected\n"
    with pytest.raises(BuildError, match="ends the here-document"):
        assemble(files)


def test_a_part_without_its_header() -> None:
    files = parts()
    files["tools.sh"] = files["tools.sh"].removeprefix(PART_HEADER)
    with pytest.raises(BuildError, match=r"tools\.sh: the first line must be"):
        assemble(files)
