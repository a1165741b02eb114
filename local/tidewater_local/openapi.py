"""The published contract: one OpenAPI 3.1 document for every HTTP route of the template,
merged from the functions' own resolvers (`app.get_openapi_schema()`), so it comes from the
code that validates requests. `make openapi` rewrites docs/openapi.json; a test fails when
the committed document and the code drift apart.

    python -m tidewater_local.openapi [--check] [--output docs/openapi.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tidewater.api.http import documented
from tidewater_local.cfn import Template

TITLE = "Tidewater"
DESCRIPTION = (
    "Diabetes data: Tidepool-style uploads and data, Nightscout v1 entries, clinics and their "
    'patient lists, data donation. Errors are `{"errors": [{code, title, detail, status, '
    "source}]}`, `source.pointer` a JSON Pointer into the body, `source.parameter` a query "
    "parameter."
)
SECURITY_SCHEMES: dict[str, Any] = {
    "session": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "the ID token from POST /auth/login (also as X-Tidepool-Session-Token)",
    },
    "nightscoutSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "api-secret",
        "description": "SHA-1 of the account's Nightscout secret, as uploaders send it",
    },
}
NIGHTSCOUT_PREFIX = "/api/v1/entries"
# Behind the authorizer, but answered without a session too (Tidepool's logout).
SESSION_OPTIONAL = {("post", "/auth/logout")}
_POWERTOOLS_422 = {"HTTPValidationError", "ValidationError"}

# OpenAPI links: what one answer lets a client do next, with the ids it returns. Clients (and
# schemathesis' stateful phase) follow them: a new dataset takes data, is closed, is deleted;
# stored entries can be deleted one by one.
_DATASET = "$response.body#/data/id"
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/v1/users/{userId}/datasets", "201"): {
        "AddData": {"operationRef": "post /v1/datasets/{datasetId}/data", "datasetId": _DATASET},
        "Close": {"operationRef": "put /v1/datasets/{datasetId}", "datasetId": _DATASET},
        "Delete": {"operationRef": "delete /v1/datasets/{datasetId}", "datasetId": _DATASET},
        "ReadData": {
            "operationRef": "get /v1/users/{userId}/data",
            "userId": "$response.body#/data/userId",
        },
    },
    ("post", "/api/v1/entries", "200"): {
        "DeleteFirst": {
            "operationRef": "delete /api/v1/entries/{entryId}",
            "entryId": "$response.body#/0/_id",
        },
    },
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _template_path(path: str) -> str:
    """Powertools names path parameters after the route's arguments (`{user_id}`); the
    template, and so the API, after its paths (`{userId}`)."""
    return re.sub(r"\{(\w+)\}", lambda m: "{" + _camel(m.group(1)) + "}", path)


def _parameter_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query field's schema as a parameter takes it: a parameter is absent rather than
    null, so `anyOf [T, null]` is T."""
    schema = {k: v for k, v in prop.items() if k not in ("title", "default", "description")}
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    return schema


def _query_models(app: Any) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(method, path) → the query parameters of its query model, with their types and
    limits (Powertools documents a model's optional fields as bare strings)."""
    found = {}
    for route in app._static_routes + app._dynamic_routes:
        for param in route.dependant.query_params:
            model = param.field_info.annotation
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue
            schema = model.model_json_schema()
            required = set(schema.get("required", []))
            parameters = []
            for name, prop in schema.get("properties", {}).items():
                parameter = {"name": name, "in": "query", "required": name in required}
                if prop.get("description"):
                    parameter["description"] = prop["description"]
                parameter["schema"] = _parameter_schema(prop)
                parameters.append(parameter)
            found[(route.method.lower(), route.openapi_path)] = parameters
    return found


def _http_apps(template: Template) -> list[Any]:
    root = str(template.path.parent)
    if root not in sys.path:
        sys.path.append(root)
    routed = {route.function for route in template.routes()}
    apps = []
    for logical_id, spec in sorted(template.functions().items()):
        if logical_id not in routed:
            continue
        package = ".".join(Path(spec.code_uri).parts)
        module = importlib.import_module(f"{package}.{spec.handler.rsplit('.', 1)[0]}")
        documented(module.app)
        apps.append(module.app)
    return apps


def document(template: Template, version: str) -> dict[str, Any]:
    """The merged document: paths as the template names them, each operation's security as
    the template's authorizer has it (public routes none; Nightscout's a secret or a
    session), the error and answer schemas of every function under `components`."""
    public = {(r.method.lower(), r.path) for r in template.routes() if r.public}
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for app in _http_apps(template):
        part = app.get_openapi_schema(title=TITLE, version=version).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        typed_queries = _query_models(app)
        for path, operations in part.get("paths", {}).items():
            named = _template_path(path)
            for method, operation in operations.items():
                if (method, path) in typed_queries:
                    kept = [p for p in operation.get("parameters", []) if p.get("in") != "query"]
                    operation["parameters"] = kept + typed_queries[(method, path)]
                # Powertools documents its own 422; our validation errors are 400s.
                operation.get("responses", {}).pop("422", None)
                # A 204 has no body; Powertools gives it one from the `Response[None]` return.
                operation.get("responses", {}).get("204", {}).pop("content", None)
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "path":
                        parameter["name"] = _camel(parameter["name"])
                if (method, named) in public:
                    operation["security"] = []
                elif (method, named) in SESSION_OPTIONAL:
                    operation["security"] = [{"session": []}, {}]
                elif named.startswith(NIGHTSCOUT_PREFIX):
                    operation["security"] = [{"session": []}, {"nightscoutSecret": []}]
                else:
                    operation["security"] = [{"session": []}]
                paths.setdefault(named, {})[method] = operation
        found = part.get("components", {}).get("schemas", {})
        schemas.update({k: v for k, v in found.items() if k not in _POWERTOOLS_422})
    _link(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": version, "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _link(paths: dict[str, Any]) -> None:
    """Adds LINKS to the answers they follow, naming each target by its operationId (a link
    to an operation that is not in the document is an error, not a silent omission)."""
    for (method, path, status), links in LINKS.items():
        answer = paths[path][method]["responses"][status]
        answer["links"] = {}
        for name, link in links.items():
            target_method, target_path = link["operationRef"].split(" ", 1)
            target = paths[target_path][target_method]
            parameters = {k: v for k, v in link.items() if k != "operationRef"}
            answer["links"][name] = {
                "operationId": target["operationId"],
                "parameters": parameters,
            }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    import tidewater
    from tidewater_local.cli import find_template

    parsed = argparse.ArgumentParser(prog="python -m tidewater_local.openapi")
    parsed.add_argument("--output", default=None, help="default: docs/openapi.json")
    parsed.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parsed.parse_args(argv)
    template_path = find_template()
    output = Path(args.output) if args.output else template_path.parent / "docs" / "openapi.json"
    text = render(document(Template(template_path), tidewater.__version__))
    if args.check:
        if not output.exists() or output.read_text() != text:
            print(f"{output} is not current: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    output.write_text(text)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
