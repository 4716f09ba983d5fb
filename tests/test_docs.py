"""Every `observatory ...` command line in README.md and docs/*.md is one the CLI accepts.

The command tree is read from the typer app itself, so a renamed command or option, or one
that the docs invent, fails here instead of in a reader's terminal.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main

from beast_observatory.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
# "observatory" as a command word: not part of observatory.yaml, beast-observatory, .observatory/
_COMMAND = re.compile(r"(?:^|(?<=[\s;&|(`=\"']))observatory(?=[ \t]+\S)")
_YAML_FENCE = re.compile(r"^```ya?ml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SHELL_END = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1", "&>", "#", "\\"}
_PLACEHOLDER_NOISE = {"...", "…"}


@dataclass(frozen=True)
class CommandLine:
    source: str  # file:line
    text: str  # "observatory build --check"


def commands_in(markdown: str, name: str) -> list[CommandLine]:
    """Command lines in the code of a Markdown text: fenced blocks and inline code spans."""
    found: list[CommandLine] = []
    for block in _FENCE.finditer(markdown):
        first_line = markdown.count("\n", 0, block.start(2)) + 1
        text = re.sub(r"\\\n\s*", " ", block.group(2))  # shell line continuations
        for offset, line in enumerate(text.splitlines()):
            found += _commands_in_code(line, f"{name}:{first_line + offset}")
    prose = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), markdown)
    for span in _INLINE.finditer(prose):
        line = prose.count("\n", 0, span.start()) + 1
        found += _commands_in_code(span.group(2), f"{name}:{line}")
    return found


def _commands_in_code(code: str, source: str) -> list[CommandLine]:
    return [CommandLine(source, code[m.start() :].strip()) for m in _COMMAND.finditer(code)]


def tokens_of(text: str) -> list[str]:
    """The words of one command, up to the end of the shell command that holds it."""
    words: list[str] = []
    depth = 0  # inside [optional | alternative] synopsis brackets a "|" is not a pipe
    for raw in text.replace("\\|", "|").split()[1:]:  # "\|" in a Markdown table cell
        if depth == 0 and (raw in _SHELL_END or raw.startswith(("#", ">", "2>", "$("))):
            break
        depth += raw.count("[") - raw.count("]")
        ends = raw.endswith((")", ";", "`")) and "(" not in raw
        word = raw.strip("[]()`;'\"")
        if word and word != "|" and word not in _PLACEHOLDER_NOISE:
            words.append(word)
        if ends:
            break
    return words


def check_command(root: Any, text: str) -> str | None:
    """Why `text` is not a command line that the CLI accepts, or None."""
    words = tokens_of(text)
    command = root
    path = ["observatory"]
    while words and hasattr(command, "commands") and not words[0].startswith("-"):
        name = words.pop(0)
        if name not in command.commands:
            known = ", ".join(sorted(command.commands))
            return f"`{' '.join(path)} {name}`: no such command (there are: {known})"
        command = command.commands[name]
        path.append(name)
    return _check_parameters(command, words, " ".join(path))


def _check_parameters(command: Any, words: list[str], path: str) -> str | None:
    options = {o: p for p in command.params if p.param_type_name == "option" for o in _names(p)}
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    max_positional = -1 if any(p.nargs < 0 for p in arguments) else sum(p.nargs for p in arguments)
    positional = 0
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("-") and word != "-":
            name, has_value = word.split("=", 1)[0], "=" in word
            if name == "--help":
                continue
            if name not in options:
                known = ", ".join(sorted(options)) or "none"
                return f"`{path}`: no option {name} (its options: {known})"
            takes_value = not options[name].is_flag and not getattr(options[name], "count", False)
            if takes_value and not has_value:
                index += 1  # the option's value
        else:
            positional += 1
    if 0 <= max_positional < positional:
        return f"`{path}`: {positional} argument(s) given, it takes {max_positional}"
    return None


def _names(param: Any) -> list[str]:
    return [*param.opts, *param.secondary_opts]


@pytest.fixture(scope="module")
def cli() -> Any:
    return typer.main.get_command(app)


@pytest.fixture(scope="module")
def documented() -> list[CommandLine]:
    lines: list[CommandLine] = []
    for path in DOCUMENTS:
        lines += commands_in(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    return lines


def test_every_documented_command_line_is_accepted_by_the_cli(
    cli: Any, documented: list[CommandLine]
) -> None:
    problems = [
        f"{line.source}: {problem}\n      {line.text}"
        for line in documented
        if (problem := check_command(cli, line.text)) is not None
    ]
    assert not problems, "the docs name commands or options the CLI does not have:\n" + "\n".join(
        problems
    )


def test_the_docs_show_many_command_lines(documented: list[CommandLine]) -> None:
    # The extraction itself must find the docs' commands, or the test above checks nothing.
    assert len(documented) > 50
    assert any(line.source.startswith("README.md") for line in documented)


def test_readme_cli_reference_covers_every_command(cli: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `observatory")]
    listed = " ".join(table)
    missing = []
    for name, command in sorted(cli.commands.items()):
        subcommands = sorted(getattr(command, "commands", {})) or [""]
        for sub in subcommands:
            full = f"observatory {name} {sub}".strip()
            if f"`{full}" not in listed:
                missing.append(full)
    assert not missing, f"README.md's CLI reference table lacks: {', '.join(missing)}"


BAD_DOC = """
Run `observatory bild` first, then:

```bash
observatory build --chek
observatory logs prometheus grafana
observatory config frobnicate
observatory plan --output json > plan.json || code=$?
```

See `observatory.yaml` and `beast-observatory`; the hook id is `observatory-validate`.
"""


def test_the_checker_catches_what_a_reader_would_trip_over(cli: Any) -> None:
    lines = commands_in(BAD_DOC, "BAD.md")
    assert [line.source for line in lines] == [f"BAD.md:{n}" for n in (5, 6, 7, 8, 2)]
    problems = {line.text: check_command(cli, line.text) for line in lines}
    assert "no such command" in str(problems["observatory bild"])
    assert "no option --chek" in str(problems["observatory build --chek"])
    assert "2 argument(s) given, it takes 1" in str(problems["observatory logs prometheus grafana"])
    assert "no such command" in str(problems["observatory config frobnicate"])
    assert problems["observatory plan --output json > plan.json || code=$?"] is None


@pytest.mark.parametrize(
    "text",
    [
        "observatory --version",
        "observatory build [--environment E | --all] [--out DIR] [--check]",
        "observatory config set services.prometheus.retention.time 30d",
        "observatory status -o json | jq .healthy",
        "observatory logs --environment remote prometheus --tail 100",
        "observatory init --force my-observatory",
    ],
)
def test_real_command_lines_pass(cli: Any, text: str) -> None:
    assert check_command(cli, text) is None


def spec_examples() -> list[tuple[str, str]]:
    """Complete specs shown in the docs: YAML blocks with top-level `version:` and `project:`."""
    examples = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for block in _YAML_FENCE.finditer(text):
            body = block.group(1)
            if re.search(r"^version:", body, re.MULTILINE) and re.search(
                r"^project:", body, re.MULTILINE
            ):
                line = text.count("\n", 0, block.start()) + 1
                examples.append((f"{path.relative_to(ROOT).as_posix()}:{line}", body))
    return examples


def observatory(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "beast_observatory", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_readme_shows_a_spec_example() -> None:
    assert any(source.startswith("README.md") for source, _ in spec_examples())


@pytest.mark.parametrize(("source", "spec"), spec_examples())
def test_spec_examples_in_the_docs_validate_and_build(
    source: str, spec: str, tmp_path: Path
) -> None:
    # The starter's dashboards and rules, which the examples refer to, then the example spec.
    assert observatory("init", cwd=tmp_path).returncode == 0
    (tmp_path / "observatory.yaml").write_text(spec, encoding="utf-8")
    for command in (["validate"], ["build"]):
        result = observatory(*command, cwd=tmp_path)
        assert result.returncode == 0, (
            f"{source}: `observatory {command[0]}` fails:\n{result.stderr}"
        )
