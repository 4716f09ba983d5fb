"""The probe as it is sent: ONE POSIX sh script stitched from ``parts/`` (pure, cached).

The parts are shell files (``*.sh``, joined in the order of :data:`PARTS`), awk programs
(``*.awk``) and docker's Go templates (``*.tmpl``). A shell part takes an awk program or a
template into a variable through a quoted here-document whose body is one directive per line::

    REDACT_AWK=$(cat <<'AWK'
    #@insert secret_rules.awk
    #@insert redact.awk
    AWK
    )

The builder replaces each ``#@insert NAME`` line by the text of ``parts/NAME``, or by what it
generates for a name of :data:`GENERATED` (``secret_rules.awk``: the secret-name rules, from
``beast_observatory.secret_rules``). A quoted here-document takes its body as it is, so an awk
program or a template needs no escaping; the builder only checks that no inserted line ends
the here-document early. Unbuilt, every part is still valid sh on its own (a directive is a
comment to awk), so shellcheck reads each one as well as the built script.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Mapping
from importlib import resources

from beast_observatory.host.probe import secret_rules_awk

PARTS = (
    "head.sh",  # what the probe is, its limits
    "tools.sh",  # the host's tools, encoding, problem records
    "redact.sh",  # the awk redactor, how a file's mode is chosen
    "files.sh",  # file and tree records, secret files
    "docker.sh",  # containers, images, volumes, networks
    "compose.sh",  # compose versions and projects with their files
    "configs.sh",  # configuration of known services (mounts, docker cp) and their APIs
    "main.sh",  # main, called on the script's last line
)
GENERATED: dict[str, Callable[[], str]] = {"secret_rules.awk": secret_rules_awk.render}
# Every shell part's first line: alone, a part reads and sets globals of the others, which
# shellcheck sees whole in the built script (it begins with SCRIPT_HEADER instead).
PART_HEADER = (
    "# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals\n"
)
SCRIPT_HEADER = "# shellcheck shell=sh\n"

_DIRECTIVE = re.compile(r"^#@insert (\S+)$")
_QUOTED_HEREDOC = re.compile(r"<<'([A-Za-z_][A-Za-z0-9_]*)'$")


class BuildError(Exception):
    """The parts do not make a script (a bug of the package, not of a user)."""


def _insert(part: str, name: str, delimiter: str | None, text: str) -> str:
    if delimiter is None:
        raise BuildError(f"{part}: #@insert {name} outside a quoted here-document")
    if delimiter in text.splitlines():
        raise BuildError(f"{part}: {name} has a line {delimiter!r} that ends the here-document")
    return text if text.endswith("\n") else text + "\n"


def _expand(part: str, text: str, files: Mapping[str, str]) -> str:
    out: list[str] = []
    delimiter: str | None = None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\n")
        directive = _DIRECTIVE.match(bare)
        if directive:
            name = directive.group(1)
            if name in GENERATED:
                body = GENERATED[name]()
            elif name in files:
                body = files[name]
            else:
                raise BuildError(f"{part}: #@insert {name}: no such part")
            out.append(_insert(part, name, delimiter, body))
            continue
        if delimiter is not None and bare == delimiter:
            delimiter = None
        elif delimiter is None and (opened := _QUOTED_HEREDOC.search(bare)):
            delimiter = opened.group(1)
        out.append(line)
    if delimiter is not None:
        raise BuildError(f"{part}: here-document {delimiter!r} is not closed")
    return "".join(out)


def assemble(files: Mapping[str, str]) -> str:
    """The script, from the parts' texts by name (pure)."""
    sections = []
    for part in PARTS:
        text = files[part]
        if not text.startswith(PART_HEADER):
            raise BuildError(f"{part}: the first line must be {PART_HEADER.strip()!r}")
        sections.append(_expand(part, text.removeprefix(PART_HEADER), files).strip("\n"))
    return SCRIPT_HEADER + "\n\n".join(sections) + "\n"


def part_names() -> list[str]:
    """Every file of parts/, shell, awk and templates."""
    folder = resources.files("beast_observatory.host.probe") / "parts"
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".sh", ".awk", ".tmpl")))


def read_part(name: str) -> str:
    return (resources.files("beast_observatory.host.probe") / "parts" / name).read_text("utf-8")


@functools.cache
def probe_script() -> bytes:
    """The script that is sent (built once per process)."""
    return assemble({name: read_part(name) for name in part_names()}).encode("utf-8")


if __name__ == "__main__":  # `python -m beast_observatory.host.probe.build > probe.sh`
    sys.stdout.buffer.write(probe_script())
