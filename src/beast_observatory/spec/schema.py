"""The JSON Schema of observatory.yaml, generated from the models."""

from __future__ import annotations

import json
from typing import Any

from beast_observatory import __version__

SCHEMA_ID = "https://raw.githubusercontent.com/beast-observatory/beast-observatory/main/schemas/observatory.schema.json"


def spec_schema() -> dict[str, Any]:
    from beast_observatory.spec.models import Spec  # noqa: PLC0415 - keep CLI start-up light

    schema = Spec.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "observatory.yaml",
        "description": "beast-observatory spec: one file compiled into a Prometheus, Pushgateway "
        "and Grafana stack per environment.",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"


def schema_version_url() -> str:
    return SCHEMA_ID.replace("/main/", f"/v{__version__}/")
