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


def test_every_template_table_has_models_that_match_it(template) -> None:
    settings = Settings.from_env(template.environment())
    models.bind(settings)
    tables = template.of_type("AWS::DynamoDB::Table")
    names = {template.physical_name(logical_id): logical_id for logical_id in tables}
    indexes_seen: dict[str, dict[str, Any]] = {logical_id: {} for logical_id in tables}
    for model in models.MODELS:
        logical_id = names.get(model.Meta.table_name)
        assert logical_id, f"{model.__name__} reads a table the template does not declare"
        table, shape = _template_shape(tables[logical_id]["Properties"]), _model_shape(model)
        assert shape["keys"] == table["keys"], model.__name__
        for name, attribute_type in shape["types"].items():
            assert table["types"].get(name) == attribute_type, (model.__name__, name)
        for name, index in shape["indexes"].items():
            assert table["indexes"].get(name) == index, (model.__name__, name)
        indexes_seen[logical_id].update(shape["indexes"])
    for logical_id, resource in tables.items():
        declared = _template_shape(resource["Properties"])
        assert indexes_seen[logical_id] == declared["indexes"], (
            f"{logical_id}: an index no model has"
        )


@pytest.mark.parametrize("variable", ["DATUMS_TABLE", "ACCOUNTS_TABLE", "DONATIONS_BUCKET"])
def test_settings_read_the_names_the_template_gives_lambda(template, variable) -> None:
    env = template.environment()
    settings = Settings.from_env(env)
    assert env[variable] in vars(settings).values()


def test_every_table_reads_the_sdk_data_from_disk_once(aws, monkeypatch) -> None:
    """A cold function's first request to each table makes a botocore client: reading the
    endpoint rules and DynamoDB's model again for each (60-190 ms a time) is cold-start time."""
    import botocore.loaders

    first, *others = models.MODELS
    made = [first._get_connection().connection.client]  # what must be read once is read now
    reads: list[str] = []
    load = botocore.loaders.JSONFileLoader.load_file
    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file",
                        lambda self, path: reads.append(path) or load(self, path))  # fmt: skip
    made += [model._get_connection().connection.client for model in others]
    assert len({id(client) for client in made}) == len(models.MODELS)  # one client per model
    assert reads == []
