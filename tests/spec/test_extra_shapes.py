"""Extra services are compose fragments; the keys the tool reads must have compose's shapes."""

from __future__ import annotations

import pytest

from beast_observatory.errors import SpecError
from beast_observatory.spec.load import parse_spec

BASE = (
    "project: x\nenvironments: {local: {}}\nservices:\n  extra:\n    db:\n      image: postgres\n"
)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("ports: 5432", "db.ports must be a list"),
        ("labels: foo", "db.labels must be a mapping or a list"),
        ("environment: X_PASSWORD=v", "db.environment must be a mapping or a list"),
    ],
)
def test_wrong_shapes_are_spec_errors(line: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(BASE + "      " + line + "\n", "observatory.yaml")
    assert words in caught.value.message
    assert "observatory.yaml:" in caught.value.message


def test_compose_shapes_are_accepted() -> None:
    spec = parse_spec(
        BASE + "      ports: ['127.0.0.1:5432:5432']\n      environment: [A=1]\n",
        "observatory.yaml",
    )
    assert spec.services.extra["db"]["ports"] == ["127.0.0.1:5432:5432"]
