"""What every reader of a discovered service shares (discover/context.py): flags as the
tools parse them, compose's variables as compose substitutes them, names the spec accepts."""

from __future__ import annotations

import pytest

from beast_observatory.discover.context import (
    ExportContext,
    dotenv,
    env_mapping,
    flag_value,
    glob_segments,
    other_flags,
    parse_flags,
    reference_name,
    sanitize_name,
    variable_for,
)
from beast_observatory.host.probe.inventory import Inventory
from inventory_builder import MARK


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (["--a=1", "--b", "2", "--c", "-d=x"], [("a", "1"), ("b", "2"), ("c", None), ("d", "x")]),
        (["positional", "--flag"], [("flag", None)]),
        (["--x=", "--y=a=b"], [("x", ""), ("y", "a=b")]),
    ],
)
def test_flags_in_kingpins_forms(args: list[str], flags: list[tuple[str, str | None]]) -> None:
    assert parse_flags(args) == flags


def test_the_last_flag_wins_and_the_others_keep_their_order() -> None:
    flags = parse_flags(
        [
            "--web.listen-address=:9090",
            "--log.level=info",
            "--web.listen-address=:9095",
            "--web.enable-lifecycle",
        ]
    )
    assert flag_value(flags, "web.listen-address") == ":9095"
    assert flag_value(flags, "web.enable-lifecycle") == ""
    assert flag_value(flags, "nope") is None
    assert other_flags(flags, {"web.listen-address"}) == [
        "--log.level=info",
        "--web.enable-lifecycle",
    ]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("my job/1", "my-job-1"),
        ("-weird-", "weird"),
        ("***", "unnamed"),
        ("a" * 70, "a" * 63),
        ("ok_.-x", "ok_.-x"),
    ],
)
def test_names_the_spec_accepts(value: str, name: str) -> None:
    assert sanitize_name(value) == name


def test_references_and_variable_names() -> None:
    assert reference_name("${FOO}") == "FOO"
    assert reference_name("$FOO") == "FOO"
    assert reference_name("${FOO:?set FOO (a secret) in .env}") == "FOO"
    assert reference_name("prefix-${FOO}") is None
    assert reference_name(None) is None
    assert variable_for("vault.token") == "VAULT_TOKEN"
    assert variable_for("1st key") == "_1ST_KEY"


def test_globs_stay_within_a_folder_as_prometheus_matches_them() -> None:
    assert glob_segments("/etc/p/rules/*.yml", "/etc/p/rules/a.yml")
    assert not glob_segments("/etc/p/rules/*.yml", "/etc/p/rules/sub/a.yml")


def test_compose_environment_and_env_files() -> None:
    assert env_mapping(["A=1", "B", "C=x=y"]) == {"A": "1", "B": None, "C": "x=y"}
    assert env_mapping({"A": 1, "B": None}) == {"A": "1", "B": None}
    assert dotenv("# c\nexport A='x y'\nB=\"2\"\n\nC=3 \nnot a line\n") == {
        "A": "x y",
        "B": "2",
        "C": "3",
    }


def context(**variables: str) -> ExportContext:
    return ExportContext(Inventory(), "beast", [], variables=dict(variables))


@pytest.mark.parametrize(
    ("value", "out", "named"),
    [
        ("${TAG}", "1.36", set()),
        ("${TAG:-1.35}", "1.36", set()),
        ("${MISSING:-1.35}", "1.35", set()),
        ("${EMPTY:-fallback}", "fallback", set()),  # :- also replaces an empty value
        ("${EMPTY-kept}", "", set()),
        ("${MISSING}", "${MISSING}", {"MISSING"}),  # to be set in the new .env
        ("${MISSING:?set MISSING in .env}", "${MISSING:?set MISSING in .env}", {"MISSING"}),
        ("price $$5 for $TAG", "price $$5 for 1.36", set()),
    ],
)
def test_compose_variables_are_substituted_as_compose_does(
    value: str, out: str, named: set[str]
) -> None:
    ctx = context(TAG="1.36", EMPTY="")
    assert ctx.interpolate(value) == out
    assert ctx.secrets == named


def test_side_files_keep_their_path_and_redacted_secrets_become_placeholders() -> None:
    ctx = context()
    assert ctx.add_file("rules/a.yml", "groups: []\n") == "rules/a.yml"
    assert ctx.add_file("rules/a.yml", "groups: []\n") == "rules/a.yml"  # the same file again
    assert ctx.add_file("rules/a.yml", "groups: [{name: b}]\n") == "rules/a-2.yml"
    path = ctx.add_file("conf/x.yml", f"password: {MARK}\n")
    assert ctx.files[path] == b"password: FILL-IN-SECRET-0123456789ab\n"
    assert any("replace each FILL-IN-SECRET" in n for n in ctx.notes)
