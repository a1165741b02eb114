"""The PynamoDB models and template.yaml describe the same tables: keys, types and indexes."""

from __future__ import annotations

from typing import Any

import pytest

from tidewater.settings import Settings
from tidewater.store import models


def _keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in schema}


def _model_shape(model: type[Any]) -> dict[str, Any]:
    schema = model._get_schema()
    types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    indexes = {
        gsi["index_name"]: (_keys(gsi["key_schema"]), gsi["projection"]["ProjectionType"])
        for gsi in schema["global_secondary_indexes"]
    }
    return {"keys": _keys(schema["key_schema"]), "types": types, "indexes": indexes}


def _template_shape(props: dict[str, Any]) -> dict[str, Any]:
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    indexes = {
        gsi["IndexName"]: (_keys(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in props.get("GlobalSecondaryIndexes", [])
    }
    return {"keys": _keys(props["KeySchema"]), "types": types, "indexes": indexes}


def test_every_template_table_has_a_model_that_matches_it(template) -> None:
    settings = Settings.from_env(template.environment())
    models.bind(settings)
    by_table = {m.Meta.table_name: m for m in models.MODELS}
    tables = template.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(models.MODELS)
    for logical_id, resource in tables.items():
        model = by_table.get(template.physical_name(logical_id))
        assert model is not None, f"no model reads {logical_id} (check the env var it names)"
        assert _model_shape(model) == _template_shape(resource["Properties"]), logical_id


@pytest.mark.parametrize("variable", ["DATUMS_TABLE", "ACCOUNTS_TABLE", "DONATIONS_BUCKET"])
def test_settings_read_the_names_the_template_gives_lambda(template, variable) -> None:
    env = template.environment()
    settings = Settings.from_env(env)
    assert env[variable] in vars(settings).values()
