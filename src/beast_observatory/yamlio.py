"""The one module that owns YAML.

- ``load_yaml``: safe, C-speed parsing with duplicate-key detection, an alias-expansion budget
  and errors that carry file:line:col.
- ``locate``: maps a path inside a document (``services.grafana.port``) to its line and column,
  only computed on the error path.
- ``dump_yaml``: stable, block-style output at C speed for generated files.
- ``RoundTrip``: ruamel round-trip editing for ``config set``, which must keep comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import StringIO
from typing import Any

import yaml

from beast_observatory.errors import ObservatoryError

MAX_SPEC_BYTES = 4 * 1024 * 1024
# A document that expands beyond this many nodes through aliases is refused (billion laughs).
MAX_EXPANDED_NODES = 2_000_000

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class YamlError(ObservatoryError):
    """A YAML document could not be read: ``source`` names it, ``position`` is where the
    parser stopped (None when the whole file is at fault: too big, binary, not UTF-8)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        where: str | None = None,
        source: str | None = None,
        position: Position | None = None,
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.source = source if source is not None else where
        self.position = position


class _StrictLoader(_Loader):  # type: ignore[valid-type,misc]
    """Safe loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        """PyYAML's implicit tag resolution (regexes, in Python), once per distinct scalar."""
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        tag = self._tags.get((value, implicit))
        if tag is None:
            tag = self._tags[(value, implicit)] = super().resolve(kind, value, implicit)
        return tag

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if _distinct_string_keys(node):  # the usual case, decided without constructing keys
            return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *base` merges; its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                first = seen[key].start_mark
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first defined at line {first.line + 1})",
                    mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _distinct_string_keys(node: yaml.MappingNode) -> bool:
    """All keys are plain strings (equal text = equal key) and no text repeats."""
    texts = set()
    for key_node, _ in node.value:
        if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG):
            return False
        texts.add(key_node.value)
    return len(texts) == len(node.value)


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_SPEC_BYTES:
        raise YamlError(
            f"the file is {len(data) / 1048576:.1f} MiB; specs are limited to "
            f"{MAX_SPEC_BYTES // 1048576} MiB",
            where=source,
            hint="keep dashboards and rules in their own files and reference them by path",
        )
    if b"\x00" in data:
        raise YamlError(
            "the file contains NUL bytes: it is binary, not YAML",
            where=source,
            hint="point -f at the observatory.yaml text file",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlError(
            f"the file is not UTF-8 text (invalid byte at offset {exc.start})",
            where=source,
            hint="save the spec as UTF-8",
        ) from None


def _check_expansion(value: Any, budget: int = MAX_EXPANDED_NODES) -> None:
    """Walk the loaded value (aliases are shared references) and refuse a blow-up."""
    stack: list[Any] = [value]
    count = 0
    while stack:
        item = stack.pop()
        count += 1
        if count > budget:
            raise YamlError(
                f"the document expands to more than {budget:,} nodes through YAML aliases",
                hint="remove the nested anchors/aliases (this looks like a 'billion laughs' bomb)",
            )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_yaml(data: bytes | str, source: str = "<string>") -> Any:
    """Parse one YAML document safely; raise YamlError with file:line:col on failure."""
    text = _decode(data, source) if isinstance(data, bytes) else data
    try:
        value = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(exc, text, source) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}", where=source, source=source) from None
    if value is not None:
        try:
            _check_expansion(value)
        except YamlError as exc:
            exc.where = exc.source = source
            raise
    return value


def _marked_error(exc: yaml.MarkedYAMLError, text: str, source: str) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = exc.problem or exc.context or "invalid YAML"
    start = exc.context_mark
    unclosed = isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError)
    if unclosed and exc.context and start is not None and (mark is None or start.line != mark.line):
        # An unclosed bracket or quote is only noticed where the document ends: say where it opened.
        problem += f" ({exc.context} started at {start.line + 1}:{start.column + 1})"
    hint = "fix the YAML syntax at that position"
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in line[: mark.column + 1] or "'\\t'" in problem:
            hint = "YAML does not allow tabs for indentation: indent with spaces"
    if "duplicate key" in problem:
        hint = "remove or rename one of the two keys"
    position = Position(mark.line + 1, mark.column + 1) if mark else None
    return YamlError(
        f"YAML error: {problem}", where=where, hint=hint, source=source, position=position
    )


@lru_cache(maxsize=4)
def _compose(text: str) -> yaml.Node | None:
    """The node tree of text, parsed once for all the errors located in it."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def locate(text: str, path: Sequence[str | int]) -> Position | None:
    """Line and column of the deepest node along path in text (None if unparsable)."""
    node = _compose(text)
    best = node.start_mark if node is not None else None
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        key_node, node = child
        best = key_node.start_mark
    return Position(best.line + 1, best.column + 1) if best is not None else None


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if str(key_node.value) == str(part):
                return key_node, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item, item
    return None


def find_scalar(text: str, value: str) -> tuple[tuple[str | int, ...], Position] | None:
    """Path and position of the first scalar equal to value (document order), if any."""
    stack: list[tuple[tuple[str | int, ...], yaml.Node | None]] = [((), _compose(text))]
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.ScalarNode) and node.value == value:
            return path, Position(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            stack += [((*path, str(k.value)), v) for k, v in reversed(node.value)]
        elif isinstance(node, yaml.SequenceNode):
            stack += [((*path, i), v) for i, v in reversed(list(enumerate(node.value)))]
    return None


def dump_yaml(value: Any) -> str:
    """Block-style YAML with the caller's key order; stable across runs and machines.

    Plain data (mappings with short ASCII string keys, lists, ASCII one-line strings, numbers,
    booleans, null) takes a fast path that writes exactly what PyYAML writes; anything else,
    and any document holding such a value, goes through PyYAML itself."""
    if isinstance(value, dict | list) and value:
        out: list[str] = []
        try:
            _emit_block(value, 0, out)
        except _NotPlainDataError:
            pass
        else:
            return "".join(out)
    slow: str = yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
        indent=2,
    )
    return slow


# --- the fast path of dump_yaml -------------------------------------------------------------
# PyYAML's representer and serializer are pure Python even with the C emitter, and they
# dominate a large build. The fast path makes the same choices for the values generated files
# hold: tests/test_yamlio.py checks that its output equals PyYAML's, byte for byte.


class _NotPlainDataError(Exception):
    """A value the fast path does not write exactly like PyYAML: use PyYAML."""


_MAX_SIMPLE_KEY = 128
_resolver = yaml.resolver.Resolver()
_analysis_owner = type("_AnalysisOwner", (), {"allow_unicode": True})()
_scalar_cache: dict[tuple[str, bool], str] = {}


def _string(text: str, *, key: bool) -> str:
    cached = _scalar_cache.get((text, key))
    if cached is not None:
        return cached
    if not text.isascii() or (key and len(text) >= _MAX_SIMPLE_KEY):
        raise _NotPlainDataError
    analysis = yaml.emitter.Emitter.analyze_scalar(_analysis_owner, text)
    if analysis.multiline or (key and analysis.empty):
        raise _NotPlainDataError
    implicit = _resolver.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG  # type: ignore[no-untyped-call]
    if implicit and analysis.allow_block_plain:
        out = text
    elif analysis.allow_single_quoted:
        out = "'" + text.replace("'", "''") + "'"
    else:
        raise _NotPlainDataError
    _scalar_cache[(text, key)] = out
    return out


def _scalar(value: Any, *, key: bool = False) -> str:
    if isinstance(value, str):
        return _string(value, key=key)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list) and not value and not key:
        return "{}" if isinstance(value, dict) else "[]"
    raise _NotPlainDataError  # floats, dates, bytes, other key types: PyYAML knows them


def _emit_block(value: dict[Any, Any] | list[Any], indent: int, out: list[str]) -> None:
    """A non-empty mapping or sequence at indent; PyYAML's indentless sequences in mappings."""
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_scalar(key, key=True)}:"
            if isinstance(item, dict | list) and item:
                out.append(head + "\n")
                _emit_block(item, indent + 2 if isinstance(item, dict) else indent, out)
            else:
                out.append(f"{head} {_scalar(item)}\n")
        return
    for item in value:
        if isinstance(item, dict | list) and item:
            start = len(out)
            _emit_block(item, indent + 2, out)
            out[start] = f"{pad}- {out[start][indent + 2 :]}"
        else:
            out.append(f"{pad}- {_scalar(item)}\n")


class RoundTrip:
    """Comment-preserving editing of a YAML document (ruamel), for ``config set``."""

    def __init__(self, text: str) -> None:
        from ruamel.yaml import YAML  # noqa: PLC0415 - slow import only needed for editing

        self._yaml = YAML(typ="rt")
        self._yaml.preserve_quotes = True
        self._yaml.indent(mapping=2, sequence=4, offset=2)
        self._yaml.width = 4096
        self.data: Any = self._yaml.load(text)

    def dumps(self) -> str:
        buf = StringIO()
        self._yaml.dump(self.data, buf)
        return buf.getvalue()
