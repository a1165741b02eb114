"""After `sam deploy` into ministack: wire the HTTP API's routes, then drive the deployed
stack as its users would (tools/deploy-local.sh runs it; docs/deploying.md says why).

ministack deploys an `AWS::ApiGatewayV2::Api` but ignores its OpenAPI `Body`, where the SAM
transform puts the routes, integrations and authorizer of the functions' `HttpApi` events.
They are read back from the stack's processed template and created with the API Gateway v2
calls, so that template.yaml stays the one description of the routes (the local stack reads
the same events) and a route added there is wired here with no change.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from tidewater.domain import donation
from tidewater.domain.timeutil import format_utc

REGION = "us-east-1"
PASSWORD = "Deploy-local-pass-1"  # noqa: S105 (a throwaway emulator account)
INTEGRATION = "x-amazon-apigateway-integration"
AUTHORIZER = "x-amazon-apigateway-authorizer"


class SmokeFailure(Exception):
    pass


class Clock:
    def __init__(self, started: float) -> None:
        self.started = started

    def step(self, text: str) -> None:
        print(f"[{time.time() - self.started:4.0f}s] {text}", flush=True)


def retry(what: str, attempt: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """`attempt()` until it returns something truthy, for at most `timeout` seconds: for what
    the emulator makes true eventually (a worker's cold start, a schedule's first firing)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = attempt()
            if last:
                return last
        except (OSError, SmokeFailure) as error:
            last = error
        if time.monotonic() >= deadline:
            raise SmokeFailure(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(every)


# --------------------------------------------------------------------------- routes
def _resolve(value: Any, arns: dict[str, str], account: str) -> str:
    """A value of the processed template (a string, `Fn::GetAtt <function>.Arn` or an
    `Fn::Sub` in either form) with the stack's function ARNs filled in."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute == "Arn" and logical_id in arns:
            return arns[logical_id]
    if not (isinstance(value, dict) and "Fn::Sub" in value):
        raise SmokeFailure(f"cannot resolve {value!r}")
    text, variables = value["Fn::Sub"], {}
    if isinstance(text, list):
        text, variables = text
    known = {
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::AccountId": account,
        "AWS::URLSuffix": "amazonaws.com",
        **{f"{logical_id}.Arn": arn for logical_id, arn in arns.items()},
        **{name: _resolve(v, arns, account) for name, v in variables.items()},
    }

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in known:
            raise SmokeFailure(f"cannot resolve ${{{match.group(1)}}} in {text}")
        return known[match.group(1)]

    return re.sub(r"\$\{([^}]+)\}", one, text)


def _function_arn(uri: str) -> str:
    """The function ARN inside an `.../functions/<arn>/invocations` URI."""
    match = re.search(r"/functions/(arn:[^/]+)/invocations", uri)
    return match.group(1) if match else uri


@dataclass(frozen=True)
class Deployed:
    api_id: str
    functions: dict[str, str]  # logical id -> physical name
    bucket: str
    state_machines: list[str]
    user_pool: str


def deployed(session: boto3.session.Session, stack: str) -> Deployed:
    cloudformation = session.client("cloudformation")
    resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    by_type: dict[str, dict[str, str]] = {}
    for resource in resources:
        by_type.setdefault(resource["ResourceType"], {})[resource["LogicalResourceId"]] = resource[
            "PhysicalResourceId"
        ]
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    api_id = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiId")
    return Deployed(
        api_id=api_id,
        functions=by_type.get("AWS::Lambda::Function", {}),
        bucket=next(iter(by_type.get("AWS::S3::Bucket", {}).values()), ""),
        state_machines=list(by_type.get("AWS::StepFunctions::StateMachine", {}).values()),
        user_pool=next(iter(by_type.get("AWS::Cognito::UserPool", {}).values()), ""),
    )


def wire_routes(session: boto3.session.Session, stack: str, found: Deployed) -> int:
    """Create (or bring up to date) the authorizers, integrations and routes the processed
    template's OpenAPI bodies describe; returns the number of routes."""
    cloudformation = session.client("cloudformation")
    body = cloudformation.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    processed = json.loads(body) if isinstance(body, str) else body
    apigw = session.client("apigatewayv2")
    lambda_ = session.client("lambda")
    account = session.client("sts").get_caller_identity()["Account"]
    arns = {
        logical: lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        for logical, name in found.functions.items()
    }
    wired = 0
    for resource in processed["Resources"].values():
        if resource["Type"] != "AWS::ApiGatewayV2::Api" or "Body" not in resource["Properties"]:
            continue
        wired += _wire_api(apigw, found.api_id, resource["Properties"]["Body"], arns, account)
    return wired


def _wire_api(apigw: Any, api_id: str, openapi: dict, arns: dict[str, str], account: str) -> int:
    schemes = openapi.get("components", {}).get("securitySchemes", {})
    existing_authorizers = {a["Name"]: a for a in apigw.get_authorizers(ApiId=api_id)["Items"]}
    authorizer_ids = {}
    for name, scheme in schemes.items():
        spec = scheme.get(AUTHORIZER)
        if not spec or spec.get("type") != "request":
            raise SmokeFailure(f"authorizer {name}: only Lambda (request) authorizers are wired")
        args = {
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": _resolve(spec["authorizerUri"], arns, account),
            "AuthorizerPayloadFormatVersion": spec.get("authorizerPayloadFormatVersion", "2.0"),
            "EnableSimpleResponses": bool(spec.get("enableSimpleResponses", False)),
            "IdentitySource": spec.get("identitySource") or [],
            "AuthorizerResultTtlInSeconds": int(spec.get("authorizerResultTtlInSeconds", 0)),
        }
        if name in existing_authorizers:
            authorizer_id = existing_authorizers[name]["AuthorizerId"]
            apigw.update_authorizer(ApiId=api_id, AuthorizerId=authorizer_id, Name=name, **args)
        else:
            authorizer_id = apigw.create_authorizer(ApiId=api_id, Name=name, **args)["AuthorizerId"]
        authorizer_ids[name] = authorizer_id

    integrations = {
        i["IntegrationUri"]: i["IntegrationId"]
        for i in apigw.get_integrations(ApiId=api_id)["Items"]
        if i.get("IntegrationType") == "AWS_PROXY"
    }
    routes = {r["RouteKey"]: r["RouteId"] for r in apigw.get_routes(ApiId=api_id)["Items"]}
    wanted = set()
    default_security = openapi.get("security", [])
    for path, methods in openapi.get("paths", {}).items():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or INTEGRATION not in operation:
                continue
            integration = operation[INTEGRATION]
            target_arn = _function_arn(_resolve(integration["uri"], arns, account))
            if target_arn not in integrations:
                integrations[target_arn] = apigw.create_integration(
                    ApiId=api_id,
                    IntegrationType="AWS_PROXY",
                    IntegrationUri=target_arn,
                    IntegrationMethod="POST",
                    PayloadFormatVersion=integration.get("payloadFormatVersion", "2.0"),
                )["IntegrationId"]
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            key = f"{verb} {path}"
            wanted.add(key)
            security = operation.get("security", default_security)
            named = [name for entry in security for name in entry if name in authorizer_ids]
            auth: dict[str, Any] = (
                {"AuthorizationType": "CUSTOM", "AuthorizerId": authorizer_ids[named[0]]}
                if named
                else {"AuthorizationType": "NONE"}
            )
            target = f"integrations/{integrations[target_arn]}"
            if key in routes:
                apigw.update_route(ApiId=api_id, RouteId=routes[key], Target=target, **auth)
            else:
                apigw.create_route(ApiId=api_id, RouteKey=key, Target=target, **auth)
    for key, route_id in routes.items():  # routes the template no longer has
        if key not in wanted:
            apigw.delete_route(ApiId=api_id, RouteId=route_id)
    return len(wanted)


# --------------------------------------------------------------------------- the API
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (http to loopback)
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def expect(
        self,
        status: int,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        reply = self.request(method, path, body, headers)
        if reply.status != status:
            raise SmokeFailure(
                f"{method} {path}: {reply.status}, expected {status}: {reply.body[:500]!r}"
            )
        return reply


@dataclass(frozen=True)
class User:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Tidepool-Session-Token": self.token}


def sign_up(
    api: Api, role: str, session: boto3.session.Session | None = None, pool: str = ""
) -> tuple[str, User]:
    """Sign-up (a patient); for another role, the operator's grant (the Cognito group, with
    the admin API and this tool's credentials) and a login whose token carries it."""
    import base64

    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": PASSWORD, "fullName": f"Deploy {role}"}
    reply = api.expect(201, "POST", "/v1/users", body)
    user = User(reply.json()["data"]["userId"], reply.headers["X-Tidepool-Session-Token"])
    if role != "patient" and session is not None:
        session.client("cognito-idp").admin_add_user_to_group(
            UserPoolId=pool, Username=email, GroupName=role
        )
        basic = base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
        login = api.expect(200, "POST", "/auth/login", headers={"Authorization": f"Basic {basic}"})
        user = User(user.user_id, login.headers["X-Tidepool-Session-Token"])
    return email, user


def smoke(
    clock: Clock, session: boto3.session.Session, found: Deployed, api: Api, deployed_at: float
) -> None:
    import base64

    retry("the API answers /status", lambda: api.request("GET", "/status").status == 200, 60)
    clock.step("GET /status: 200 (the ingest function's worker is up)")

    email, patient = sign_up(api, "patient")
    clock.step("sign-up (Cognito AdminCreateUser, the account row)")
    basic = base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
    login = api.expect(200, "POST", "/auth/login", headers={"Authorization": f"Basic {basic}"})
    patient = User(patient.user_id, login.headers["X-Tidepool-Session-Token"])
    api.expect(200, "GET", f"/v1/users/{patient.user_id}", headers=patient.headers)
    api.expect(401, "GET", f"/v1/users/{patient.user_id}")
    clock.step("login (Cognito JWT); the authorizer lets the token in, and no token out")

    dataset = api.expect(
        201,
        "POST",
        f"/v1/users/{patient.user_id}/datasets",
        {"client": {"name": "org.example.deploy-local", "version": "1"}},
        patient.headers,
    ).json()["data"]["id"]
    clock.step("dataset created")
    # A day of CGM inside the newest donation window that is due (the embargo is overridden
    # to 0 days for this stack): the summariser and the export both find it.
    window = donation.due_windows(datetime.now(UTC), 7, 0)[-1]
    start = window.start + timedelta(days=2)
    day = [
        {
            "type": "cbg",
            "units": "mg/dL",
            "value": 100 + (n % 40),
            "deviceId": "DeployLocal-CGM-1",
            "time": format_utc(start + timedelta(minutes=5 * n)),
        }
        for n in range(288)
    ]
    api.expect(200, "POST", f"/v1/datasets/{dataset}/data", day, patient.headers)
    api.expect(
        200, "PUT", f"/v1/users/{patient.user_id}/donation", {"consent": True}, patient.headers
    )
    clock.step("a day of CGM uploaded (288 readings); donation consent given")

    summary_path = f"/v1/users/{patient.user_id}/summary"

    def summarised() -> dict | None:
        reply = api.expect(200, "GET", summary_path, headers=patient.headers).json()
        done = "outdatedSince" not in reply["dates"] and reply.get("cgm")
        return reply if done else None

    wait = max(0.0, deployed_at + 150 - time.time())
    clock.step(f"waiting for the schedule's state machine to summarise it (<= {wait:.0f} s)")
    summary = retry("the scheduled summariser summarises the upload", summarised, wait, 2)
    records = summary["cgm"]["periods"]["1d"]["total"]["records"]
    if records != 288:
        raise SmokeFailure(f"the summary counts {records} readings, not 288")
    executions = _executions(session, found)
    clock.step(
        f"summarised by the deployed schedule -> state machine -> summarize function "
        f"({executions}); 1d: {records} readings"
    )

    _, clinician = sign_up(api, "clinician", session, found.user_pool)
    clinic = api.expect(200, "POST", "/v1/clinics", {"name": "Deploy clinic"}, clinician.headers)
    clinic_id = clinic.json()["id"]
    patients = f"/v1/clinics/{clinic_id}/patients"
    _, second = sign_up(api, "patient")
    for joining in (patient, second):  # each with a single-use code of the clinic's
        code = api.expect(201, "POST", f"/v1/clinics/{clinic_id}/share_codes", {},
                          clinician.headers).json()["data"]  # fmt: skip
        api.expect(200, "POST", f"{patients}/{joining.user_id}", code, joining.headers)
    clock.step("two patients shared with a clinic (the account's clinicIds updated)")
    page = api.expect(
        200, "GET", f"{patients}?sort=-fullName&limit=1&period=7d", headers=clinician.headers
    ).json()
    cursor = page["meta"].get("nextCursor")
    if len(page["data"]) != 1 or not cursor:
        raise SmokeFailure(f"the first page of the clinic's list: {page!r}")
    rest = api.expect(
        200,
        "GET",
        f"{patients}?sort=-fullName&limit=1&period=7d&cursor={cursor}",
        headers=clinician.headers,
    ).json()
    listed = {entry["userId"] for entry in page["data"] + rest["data"]}
    if listed != {patient.user_id, second.user_id}:
        raise SmokeFailure(f"the clinic lists {sorted(listed)}")
    api.expect(403, "GET", patients, headers=patient.headers)
    clock.step("the clinic lists both over two pages (an HMAC cursor from Secrets Manager)")

    lambda_ = session.client(
        "lambda", config=Config(read_timeout=300, retries={"mode": "standard"})
    )
    answer = lambda_.invoke(FunctionName=found.functions["ExportFunction"], Payload=b"{}")
    result = json.loads(answer["Payload"].read())
    if answer.get("FunctionError") or result.get("slices") != 1:
        raise SmokeFailure(f"the export: {result!r}")
    clock.step(f"the export function ran: {result['slices']} slice, {result['rows']} rows")

    _, researcher = sign_up(api, "researcher", session, found.user_pool)
    listing = api.expect(200, "GET", "/v1/donations/slices", headers=researcher.headers).json()
    (entry,) = listing["data"]["slices"]
    text = gzip.decompress(_download(entry["url"])).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    if len(rows) != 288 or "DeployLocal" in text or patient.user_id in text:
        raise SmokeFailure(f"the slice: {len(rows)} rows; {text[:200]!r}")
    clock.step(f"a researcher downloaded the slice from the deployed bucket: {len(rows)} rows")

    aggregator(clock, api, lambda_, found, [patient, second])


def aggregator(clock: Clock, api: Api, lambda_: Any, found: Deployed, people: list[User]) -> None:
    """The population view with k people sharing an hour of CGM each, and a followed site
    polled by the deployed poll function: both functions' policies, IAM enforced."""
    while len(people) < 5:
        people.append(sign_up(api, "patient")[1])
    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    for i, person in enumerate(people):
        dataset = api.expect(201, "POST", f"/v1/users/{person.user_id}/datasets",
                             {"client": {"name": "org.example.deploy-local", "version": "1"}},
                             person.headers).json()["data"]["id"]  # fmt: skip
        times = [format_utc(newest - timedelta(minutes=5 * n)) for n in range(12)]
        hour = [{"type": "cbg", "units": "mg/dL", "value": 90 + 10 * i,
                 "deviceId": "DeployLocal-CGM-1", "time": at} for at in times]  # fmt: skip
        api.expect(200, "POST", f"/v1/datasets/{dataset}/data", hour, person.headers)
        api.expect(200, "PUT", f"/v1/users/{person.user_id}/population", {"share": True},
                   person.headers)  # fmt: skip
    reply = api.expect(200, "GET", "/v1/population?hours=1", headers=people[0].headers)
    shown = reply.json()["data"]
    glucose = sorted({p["glucose"] for series in shown for p in series["points"]})
    leaked = [p.user_id for p in people if p.user_id.encode() in reply.body]
    if (
        len(shown) != 5
        or glucose != [90, 100, 110, 120, 130]
        or leaked
        or b"DeployLocal" in reply.body
    ):
        raise SmokeFailure(f"the population view: {reply.body[:300]!r}")
    api.expect(401, "GET", "/v1/population?hours=1")
    clock.step("5 people share: the population view shows 5 colour hashes, nothing else")

    owner = people[0]
    source = f"/v1/users/{owner.user_id}/nightscout/source"
    # In AWS only https on public addresses may be followed; this name never resolves.
    site = {"url": "https://nightscout.invalid", "token": "deploy-secret-1"}
    api.expect(200, "PUT", source, site, owner.headers)
    # Invoked now rather than waiting for its schedule (which may fire first: a claim lets
    # one run have the site, so either way it is polled once and its error recorded).
    answer = lambda_.invoke(FunctionName=found.functions["PollFunction"], Payload=b"{}")
    result = json.loads(answer["Payload"].read())
    if answer.get("FunctionError") or result.get("failed", 0) > result.get("polled", 0):
        raise SmokeFailure(f"the poll function: {result!r}")

    def polled() -> dict | None:
        reply = api.expect(200, "GET", source, headers=owner.headers)
        if b"deploy-secret" in reply.body:
            raise SmokeFailure("the followed site's answer holds its token")
        data: dict = reply.json()["data"]
        return data if "lastError" in data else None

    linked = retry("the poll function polls the linked site", polled, 90, 2)
    if "name was not found" not in linked["lastError"]:
        raise SmokeFailure(f"the followed site: {linked!r}")
    api.expect(204, "DELETE", source, headers=owner.headers)
    clock.step(f"the poll function polled the linked site: {linked['lastError']}")


def _executions(session: boto3.session.Session, found: Deployed) -> str:
    stepfunctions = session.client("stepfunctions")
    counts = [
        len(stepfunctions.list_executions(stateMachineArn=arn)["executions"])
        for arn in found.state_machines
    ]
    return f"{sum(counts)} execution(s)"


def _download(url: str) -> bytes:
    """The slice through its presigned URL, as a researcher fetches it."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (loopback)
        data: bytes = response.read()
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--started", type=float, default=time.time())
    parser.add_argument("--deployed-at", type=float, default=time.time())
    args = parser.parse_args(argv)
    clock = Clock(args.started)
    session = boto3.session.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (the emulator's root)
        region_name=REGION,
    )
    try:
        found = deployed(session, args.stack)
        routes = wire_routes(session, args.stack, found)
        clock.step(f"wired {routes} routes of API {found.api_id} from the processed template")
        api = Api(f"{args.endpoint}/_aws/execute-api/{found.api_id}/$default")
        smoke(clock, session, found, api, args.deployed_at)
    except SmokeFailure as failure:
        clock.step(f"FAILED: {failure}")
        _print_function_errors(session, args.stack)
        return 1
    return 0


def _print_function_errors(session: boto3.session.Session, stack: str) -> None:
    """The functions' last error lines from their log groups, to say why a step failed."""
    logs = session.client("logs")
    for logical_id, name in deployed(session, stack).functions.items():
        try:
            events = logs.filter_log_events(
                logGroupName=f"/aws/lambda/{name}", filterPattern="?ERROR ?Error ?Traceback"
            )["events"]
        except logs.exceptions.ResourceNotFoundException:
            continue
        for event in events[-5:]:
            print(f"  {logical_id}: {event['message'].strip()[-3000:]}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
