"""The typed edge: what each route takes (bodies, query strings) and answers, as pydantic
models. Powertools validates requests against them and builds the OpenAPI document from them.

Bodies are strict (`true` is not a number, `"1"` is not one either) and keep fields they do
not name (`extra="allow"`): the domain's validators, with Tidepool's problem codes and
unit-dependent limits, still judge every field after the edge. Query strings are text, so
their models coerce ("50" is 50) but no further: `²` is not a digit.
"""
