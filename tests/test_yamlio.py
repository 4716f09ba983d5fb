"""The one YAML module: strict loading, positions for errors, stable dumping, round-trip edits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.yamlio import (
    MAX_EXPANDED_NODES,
    MAX_SPEC_BYTES,
    Position,
    RoundTrip,
    YamlError,
    dump_yaml,
    find_scalar,
    load_yaml,
    locate,
)

DOC = """\
# a comment
services:
  prometheus:
    port: 9090
    scrape_jobs:
      - name: app
        targets: [app:8080]
      - name: db
        targets: ["db:9187"]
"""


def error_of(data: str | bytes, source: str = "spec.yaml") -> YamlError:
    with pytest.raises(YamlError) as info:
        load_yaml(data, source)
    return info.value


# --- loading -------------------------------------------------------------------------------


def test_loads_text_and_bytes_alike() -> None:
    assert load_yaml(DOC) == load_yaml(DOC.encode())
    assert load_yaml(DOC)["services"]["prometheus"]["scrape_jobs"][1]["targets"] == ["db:9187"]


def test_a_byte_order_mark_is_ignored() -> None:
    assert load_yaml(b"\xef\xbb\xbfa: 1\n") == {"a": 1}


def test_empty_and_comment_only_documents_are_none() -> None:
    assert load_yaml(b"") is None
    assert load_yaml("# nothing here\n") is None


def test_nested_duplicate_key_names_both_lines() -> None:
    exc = error_of("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert exc.where == "spec.yaml:4:3"
    assert "found duplicate key 'b' (first defined at line 2)" in exc.message
    assert exc.hint == "remove or rename one of the two keys"


def test_equal_keys_in_different_mappings_are_fine() -> None:
    assert load_yaml("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


def test_tab_hint_only_for_tabs() -> None:
    assert "indent with spaces" in str(error_of("a:\n\tb: 1\n").hint)
    assert "indent with spaces" not in str(error_of("a: [1\n").hint)


def test_unclosed_flow_says_where_it_opened() -> None:
    exc = error_of("a: 1\nb: {x: 1\nc: 2\n")
    assert "started at 2:4" in exc.message


def test_limits_are_applied_to_bytes() -> None:
    at_limit = b"a: 1\n" + b"#" * (MAX_SPEC_BYTES - 6) + b"\n"
    assert len(at_limit) == MAX_SPEC_BYTES
    assert load_yaml(at_limit) == {"a": 1}
    assert "specs are limited to 4 MiB" in error_of(at_limit + b"\n").message


def test_non_utf8_names_the_offset() -> None:
    exc = error_of(b"a: caf\xe9\n")
    assert exc.message == "the file is not UTF-8 text (invalid byte at offset 6)"
    assert exc.where == "spec.yaml"


def test_unsafe_tags_are_refused() -> None:
    exc = error_of("a: !!python/object/apply:os.system ['true']\n")
    assert exc.where == "spec.yaml:1:4"


def test_reasonable_anchors_are_allowed_and_a_bomb_is_not() -> None:
    assert load_yaml("base: &b {x: 1}\nother: *b\n") == {"base": {"x": 1}, "other": {"x": 1}}
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    exc = error_of("\n".join(levels) + "\n")
    assert f"more than {MAX_EXPANDED_NODES:,} nodes" in exc.message
    assert exc.where == "spec.yaml"


# --- locating paths for error messages ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ([], Position(2, 1)),
        (["services"], Position(2, 1)),
        (["services", "prometheus", "port"], Position(4, 5)),
        (["services", "prometheus", "scrape_jobs", 1], Position(8, 9)),
        (["services", "prometheus", "scrape_jobs", 1, "targets"], Position(9, 9)),
        (["services", "prometheus", "retention", "time"], Position(3, 3)),  # deepest that exists
        (["services", "prometheus", "scrape_jobs", 7], Position(5, 5)),
    ],
)
def test_locate(path: list[str | int], where: Position) -> None:
    assert locate(DOC, path) == where


def test_locate_in_text_that_does_not_parse() -> None:
    assert locate("a: [1\n", ["a"]) is None


def test_position_prints_as_line_colon_column() -> None:
    assert str(Position(3, 14)) == "3:14"


def test_find_scalar_gives_path_and_position_in_document_order() -> None:
    assert find_scalar(DOC, "db:9187") == (
        ("services", "prometheus", "scrape_jobs", 1, "targets", 0),
        Position(9, 19),
    )
    assert find_scalar(DOC, "app") == (
        ("services", "prometheus", "scrape_jobs", 0, "name"),
        Position(6, 15),
    )
    assert find_scalar(DOC, "prometheus") is None  # keys are not values
    assert find_scalar("a: [1\n", "1") is None


# --- dumping ---------------------------------------------------------------------------------


def test_dump_keeps_the_callers_key_order_in_block_style() -> None:
    assert (
        dump_yaml({"b": 1, "a": {"d": [1, 2], "c": "x"}})
        == "b: 1\na:\n  d:\n  - 1\n  - 2\n  c: x\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "no",
        "on",
        "off",
        "true",
        "null",
        "~",
        "",
        "1",
        "0o17",
        "0x1f",
        "1e3",
        "1_000",
        ".5",
        "12:30",
        "2024-01-01",
        "- item",
        "a: b",
        "#not a comment",
        " leading",
        "trailing ",
        "'",
        '"',
        "*alias",
        "&anchor",
        "!tag",
        "%",
        "@",
        "`",
        "{x}",
        "[x]",
        "café",
        "日本語",
        "a\nb",
        "a\tb",
        "\u2028",
        "\x85",
        "line\n",
        "x" * 300,
    ],
)
def test_strings_that_look_like_something_else_survive(text: str) -> None:
    dumped = dump_yaml({"value": text})
    assert load_yaml(dumped) == {"value": text}


def test_long_values_are_not_wrapped() -> None:
    value = " ".join(["word"] * 100)
    assert dump_yaml({"v": value}) == f"v: {value}\n"


def test_unicode_is_written_as_is() -> None:
    assert dump_yaml({"title": "Übersicht \u2013 café"}) == "title: Übersicht \u2013 café\n"


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_dump_then_load_is_identity_and_dump_is_stable(value: Any) -> None:
    dumped = dump_yaml(value)
    assert load_yaml(dumped) == value
    assert dump_yaml(load_yaml(dumped)) == dumped
    assert dumped.endswith("\n")


# --- round-trip editing ------------------------------------------------------------------


def test_round_trip_keeps_comments_quotes_and_order() -> None:
    text = '# head\nb: "quoted"  # why\na:\n  - x  # first\n  - y\n'
    doc = RoundTrip(text)
    assert doc.dumps() == text
    doc.data["a"][1] = "z"
    assert doc.dumps() == '# head\nb: "quoted"  # why\na:\n  - x  # first\n  - z\n'


# The fast path of dump_yaml must write what PyYAML writes (same committed output either way).
ascii_text = st.text(
    st.sampled_from(list("ab:- #'\"{}[],&*!|>%@`?~.0123456789xeEyYnN_/=\\$")), max_size=12
)
plain_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | ascii_text
    | st.sampled_from(["yes", "null", "1:20", "0o7", "-", "---"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ascii_text, inner, max_size=4),
    max_leaves=25,
)


def pyyaml(value: Any) -> str:
    import yaml  # noqa: PLC0415

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        value,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
        indent=2,
    )


@settings(max_examples=500, deadline=None)
@given(plain_data)
def test_fast_dump_writes_exactly_what_pyyaml_writes(value: Any) -> None:
    assert dump_yaml(value) == pyyaml(value)


@pytest.mark.parametrize(
    "value",
    [
        {"cpus": 1.5},
        {"title": "café"},
        {"text": "two\nlines"},
        {1: "int key"},
        {"k" * 130: 1},
        "scalar",
        {},
    ],
)
def test_values_outside_the_fast_path_still_dump_like_pyyaml(value: Any) -> None:
    assert dump_yaml(value) == pyyaml(value)
    assert load_yaml(dump_yaml(value)) == value
