"""Reads template.yaml for the local stack: tables, buckets, routes, schedules, environment.

Everything the local stack runs is taken from the template, so that there is one description
of the deployment, never a second copy of it in code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LOCAL_STACK_NAME = "tidewater-local"


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form tags (`!Ref`, `!GetAtt`…)."""


def _tag_constructor(tag: str) -> Any:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in (
    "Ref", "Condition", "GetAtt", "Sub", "Join", "If", "Equals", "Not", "And", "Or",
    "Select", "Split", "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Transform",
):  # fmt: skip
    CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_template(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        loaded = yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(loaded, dict) or "Resources" not in loaded:
        raise ValueError(f"{path} is not a CloudFormation template")
    return loaded


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs of an EventBridge `rate(...)` expression."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    return int(match.group(1)) * _RATE_SECONDS[match.group(2).rstrip("s")]


def check_parameter(name: str, spec: dict[str, Any] | None, value: str) -> None:
    """Refuse an override CloudFormation would refuse: an unknown parameter, a Number that
    is not one, or a value outside MinValue, MaxValue or AllowedValues."""
    if spec is None:
        raise ValueError(f"the template has no parameter {name}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {value!r}") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ValueError(f"{name} must be at least {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ValueError(f"{name} must be at most {spec['MaxValue']}")
    allowed = [str(v) for v in spec.get("AllowedValues", [])]
    if allowed and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str

    @property
    def name(self) -> str:
        """The function's folder name under functions/ (ingest, summarize…)."""
        return Path(self.code_uri).name

    def handler_file(self, root: Path) -> Path:
        module, _ = self.handler.rsplit(".", 1)
        return root / self.code_uri / f"{module.replace('.', '/')}.py"

    @property
    def handler_attr(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    public: bool
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def _route_pattern(path: str) -> re.Pattern[str]:
    """`/v1/users/{userId}/data` → a regex with named groups, `{proxy+}` matching slashes."""
    parts = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            parts.append(f"(?P<{name[:-1]}>.+)" if name.endswith("+") else f"(?P<{name}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("^" + "".join(parts) + "$")


@dataclass(frozen=True)
class Schedule:
    """A scheduled invocation: `function` every `every` seconds, `offset` seconds into it."""

    function: str
    every: int
    offset: int
    payload: dict[str, Any]


class Template:
    def __init__(
        self,
        path: Path,
        stack_name: str = LOCAL_STACK_NAME,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.root = path.parent
        self.stack_name = stack_name
        self.doc = load_template(path)
        self.resources: dict[str, dict[str, Any]] = self.doc["Resources"]
        # Parameter overrides, as `sam deploy --parameter-overrides` gives them.
        self.parameters = dict(parameters or {})
        for name, value in self.parameters.items():
            check_parameter(name, self.doc.get("Parameters", {}).get(name), value)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == resource_type}

    # ------------------------------------------------------------------ names and values
    def physical_name(self, logical_id: str) -> str:
        """The name a resource gets locally (CloudFormation would generate one in AWS)."""
        resource = self.resources[logical_id]
        if resource["Type"] == "AWS::S3::Bucket":
            return f"{self.stack_name}-{logical_id}".lower()
        return f"{self.stack_name}-{logical_id}"

    def parameter_default(self, name: str) -> str:
        return str(self.doc.get("Parameters", {}).get(name, {}).get("Default", ""))

    def parameter(self, name: str) -> str:
        """A parameter's value for this stack: its override, else the template's default."""
        return self.parameters.get(name, self.parameter_default(name))

    def resolve(self, value: Any, refs: dict[str, str] | None = None) -> str | None:
        """A template value as a string; `refs` overrides what a `!Ref` resolves to."""
        refs = refs or {}
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and "Ref" in value:
            name = value["Ref"]
            if name in refs:
                return refs[name]
            if name in self.doc.get("Parameters", {}):
                return self.parameter(name)
            if name == "AWS::StackName":
                return self.stack_name
            if name in self.resources:
                return self.physical_name(name)
        return None

    def environment(self, refs: dict[str, str] | None = None) -> dict[str, str]:
        """The functions' shared environment (Globals), resolved for the local stack."""
        variables = (self.doc.get("Globals", {}).get("Function", {}).get("Environment", {})).get(
            "Variables", {}
        )
        env = {}
        for name, value in variables.items():
            resolved = self.resolve(value, refs)
            if resolved is not None:
                env[name] = resolved
        return env

    # ------------------------------------------------------------------ functions and routes
    def functions(self) -> dict[str, FunctionSpec]:
        return {
            logical_id: FunctionSpec(
                logical_id, resource["Properties"]["CodeUri"], resource["Properties"]["Handler"]
            )
            for logical_id, resource in self.of_type("AWS::Serverless::Function").items()
        }

    def routes(self) -> list[Route]:
        routes = []
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event.get("Type") != "HttpApi":
                    continue
                props = event["Properties"]
                auth = props.get("Auth", {}).get("Authorizer")
                method = str(props.get("Method", "ANY")).upper()
                method = "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method
                routes.append(
                    Route(
                        method=method,
                        path=props["Path"],
                        function=logical_id,
                        public=auth == "NONE" or not self.authorizers(),
                        pattern=_route_pattern(props["Path"]),
                    )
                )
        # Like API Gateway, the most specific route wins: literal segments before parameters.
        routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
        return routes

    def http_api(self) -> dict[str, Any]:
        apis = self.of_type("AWS::Serverless::HttpApi")
        return next(iter(apis.values()), {}).get("Properties", {}) if apis else {}

    def authorizers(self) -> dict[str, str]:
        """Authorizer name → the logical id of its Lambda function."""
        found = {}
        for name, spec in self.http_api().get("Auth", {}).get("Authorizers", {}).items():
            arn = spec.get("FunctionArn", {})
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                found[name] = arn["Fn::GetAtt"][0]
        return found

    def default_authorizer_function(self) -> str | None:
        name = self.http_api().get("Auth", {}).get("DefaultAuthorizer")
        return self.authorizers().get(name) if name else None

    # ------------------------------------------------------------------ schedules
    def schedules(self) -> list[Schedule]:
        found = []
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event.get("Type") == "Schedule":
                    every = rate_seconds(event["Properties"]["Schedule"])
                    # EventBridge sends the rule's Input when it has one, else its event.
                    given = event["Properties"].get("Input")
                    payload = (
                        json.loads(given)
                        if given
                        else {"source": "aws.events", "detail-type": "Scheduled Event"}
                    )
                    found.append(Schedule(logical_id, every, 0, payload))
        for resource in self.of_type("AWS::Serverless::StateMachine").values():
            props = resource["Properties"]
            for event in props.get("Events", {}).values():
                if event.get("Type") == "Schedule":
                    every = rate_seconds(event["Properties"]["Schedule"])
                    found.extend(self._state_machine_invocations(props["Definition"], every))
        return found

    @staticmethod
    def _state_machine_invocations(definition: dict[str, Any], every: int) -> list[Schedule]:
        """Walk a linear workflow of Lambda Tasks and Waits: each Task becomes an invocation
        at the sum of the Waits before it."""
        states = definition["States"]
        name: str | None = definition["StartAt"]
        offset, found = 0, []
        while name:
            state = states[name]
            if state["Type"] == "Task":
                params = state.get("Parameters", {})
                target = params.get("FunctionName", {})
                if isinstance(target, dict) and "Fn::GetAtt" in target:
                    found.append(
                        Schedule(target["Fn::GetAtt"][0], every, offset, params.get("Payload", {}))
                    )
            elif state["Type"] == "Wait":
                offset += int(state.get("Seconds", 0))
            name = None if state.get("End") else state.get("Next")
        return found
