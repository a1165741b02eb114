"""Every AWS call a function's code makes is allowed by that function's policies in
template.yaml: the local stack runs a user's journey through every function while each SDK
call is recorded as (function, IAM action, resource), and each is checked against the
function's statements, SAM policy templates expanded as SAM expands them. A permission left
out of the template fails here, not at a user's first request in AWS."""

from __future__ import annotations

import base64
import contextvars
import fnmatch
import json
import os
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import TEMPLATE
from tests.nightscout_site import Site, nightscout_sites, sgv_entries

_TABLE = ["{TableName}", "{TableName}/index/*"]
# From SAM's policy_templates.json (aws/serverless-application-model), for those used here.
SAM_POLICY_TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "DynamoDBCrudPolicy": (
        [
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ],
        _TABLE,
    ),
    "DynamoDBReadPolicy": (
        [
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
        ],
        _TABLE,
    ),
    "AWSSecretsManagerGetSecretValuePolicy": (["secretsmanager:GetSecretValue"], ["{SecretArn}"]),
    "LambdaInvokePolicy": (["lambda:InvokeFunction"], ["{FunctionName}*"]),
    "S3CrudPolicy": (
        [
            "s3:GetObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:PutObjectAcl",
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:DeleteObject",
        ],
        ["{BucketName}", "{BucketName}/*"],
    ),
}
# Cognito calls a public app client makes with no AWS credentials: no IAM policy applies.
UNSIGNED = {("cognito-idp", "InitiateAuth"), ("cognito-idp", "RespondToAuthChallenge")}
_S3_ACTIONS = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
}
_S3_BUCKET_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
}
_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


# --------------------------------------------------------------------------- the policies
def _symbol(value: Any) -> str:
    """A policy's resource as `<LogicalId>[/rest]`: `!Ref X`, `!GetAtt X.Arn|Id`, `!Sub`."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(value["Ref"])
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for suffix in (".Arn", ".Id"):
            text = text.replace(suffix + "}", "}")
        return str(text.replace("${", "").replace("}", ""))
    raise AssertionError(f"a policy resource this test cannot read: {value!r}")


def grants(function: dict[str, Any]) -> list[tuple[str, str]]:
    """(action pattern, resource pattern) pairs a function's Policies allow."""
    allowed: list[tuple[str, str]] = []
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, str):
            continue  # a managed policy by name: none is used for data access
        for name, params in policy.items():
            if name == "Statement":
                for statement in params:
                    assert statement["Effect"] == "Allow", statement
                    actions = statement["Action"]
                    resources = statement["Resource"]
                    for action in [actions] if isinstance(actions, str) else actions:
                        for resource in resources if isinstance(resources, list) else [resources]:
                            allowed.append((action, _symbol(resource)))
                continue
            assert name in SAM_POLICY_TEMPLATES, f"add {name}'s expansion to this test"
            actions, resources = SAM_POLICY_TEMPLATES[name]
            values = {key: _symbol(value) for key, value in params.items()}
            for action in actions:
                for resource in resources:
                    allowed.append((action, resource.format(**values)))
    return allowed


def allowed(grants: list[tuple[str, str]], action: str, resource: str) -> bool:
    return any(
        fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(resource, r) for a, r in grants
    )


# --------------------------------------------------------------------------- the recording
def accesses(service: str, operation: str, params: dict[str, Any], names: dict[str, str]):
    """(IAM action, resource as `<LogicalId>[/rest]`) pairs one SDK call needs."""

    def logical(name: str) -> str:
        return names.get(name, f"<unknown {name}>")

    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            for item in params["TransactItems"]:
                for kind, spec in item.items():
                    verb = "GetItem" if kind == "Get" else _TRANSACT[kind]
                    yield f"dynamodb:{verb}", logical(spec["TableName"])
        elif operation in ("BatchWriteItem", "BatchGetItem"):
            for table in params["RequestItems"]:
                yield f"dynamodb:{operation}", logical(table)
        else:
            resource = logical(params["TableName"])
            if params.get("IndexName"):
                resource += f"/index/{params['IndexName']}"
            yield f"dynamodb:{operation}", resource
    elif service == "s3":
        bucket = logical(params["Bucket"])
        if operation in _S3_BUCKET_ACTIONS:
            yield _S3_BUCKET_ACTIONS[operation], bucket
        elif operation == "DeleteObjects":
            for item in params["Delete"]["Objects"]:
                verb = "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject"
                yield verb, f"{bucket}/{item['Key']}"
        else:
            action = _S3_ACTIONS[operation]
            if params.get("VersionId") and action in ("s3:GetObject", "s3:DeleteObject"):
                action += "Version"
            yield action, f"{bucket}/{params['Key']}"
    elif service == "cognito-idp":
        if (service, operation) not in UNSIGNED:
            yield f"cognito-idp:{operation}", logical(params["UserPoolId"])
    elif service == "secretsmanager":
        yield f"secretsmanager:{operation}", logical(params["SecretId"])
    else:
        raise AssertionError(f"teach this test the resources of {service}:{operation}")


_current: contextvars.ContextVar[str] = contextvars.ContextVar("function", default="")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def journey() -> Iterator[tuple[Any, list, dict[str, str], set[str]]]:
    """The local stack in this process, every SDK call recorded with the function making it."""
    import botocore.client

    from tidewater.settings import current
    from tidewater.store import repos
    from tidewater_local.runtime import Functions
    from tidewater_local.stack import LocalStack, StackOptions

    calls: list[tuple[str, str, str, dict]] = []
    invoked: set[str] = set()
    saved_env = dict(os.environ)
    real_call = botocore.client.BaseClient._make_api_call
    real_invoke = Functions.invoke

    def recording_call(self, operation, params):  # type: ignore[no-untyped-def]
        if _current.get():
            calls.append((_current.get(), self.meta.service_model.service_name, operation, params))
        return real_call(self, operation, params)

    def attributed_invoke(self, logical_id, event):  # type: ignore[no-untyped-def]
        invoked.add(logical_id)
        token = _current.set(logical_id)
        try:
            return real_invoke(self, logical_id, event)
        finally:
            _current.reset(token)

    botocore.client.BaseClient._make_api_call = recording_call  # type: ignore[method-assign]
    Functions.invoke = attributed_invoke  # type: ignore[method-assign]
    current.cache_clear()
    repos.repositories.cache_clear()
    stack = LocalStack(StackOptions(TEMPLATE, port=_free_port(), schedules=False, log=print))
    try:
        stack.start()
        names = {
            os.environ[var]: value["Ref"]
            for var, value in stack.template.doc["Globals"]["Function"]["Environment"][
                "Variables"
            ].items()
            if isinstance(value, dict) and value.get("Ref") in stack.template.resources
        }
        yield stack, calls, names, invoked
    finally:
        stack.stop()
        botocore.client.BaseClient._make_api_call = real_call  # type: ignore[method-assign]
        Functions.invoke = real_invoke  # type: ignore[method-assign]
        os.environ.clear()
        os.environ.update(saved_env)
        current.cache_clear()
        repos.repositories.cache_clear()


def _request(url: str, method: str, path: str, body: Any = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def _walk(stack: Any) -> None:
    """What the users do: sign up, log in, upload, summarise, share, list, donate, export."""
    from tidewater.domain import donation
    from tidewater.domain.timeutil import format_utc

    url, password = stack.url, "Policy-walk-pass-1"

    def sign_up(role: str) -> tuple[str, dict[str, str]]:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        body = {"email": email, "password": password, "fullName": f"P {role}"}
        status, headers, reply = _request(url, "POST", "/v1/users", body)
        assert status == 201, reply
        if role != "patient":  # the operator's grant (`tidewater grant-role`)
            grant = {"email": email, "role": role}
            assert _request(url, "POST", "/_local/grant-role", grant)[0] == 200
        basic = base64.b64encode(f"{email}:{password}".encode()).decode()
        status, headers, _ = _request(
            url, "POST", "/auth/login", None, {"Authorization": f"Basic {basic}"}
        )
        assert status == 200
        return reply["data"]["userId"], {
            "X-Tidepool-Session-Token": headers["X-Tidepool-Session-Token"]
        }

    patient, as_patient = sign_up("patient")
    assert _request(url, "GET", f"/v1/users/{patient}", None, as_patient)[0] == 200
    client = {"client": {"name": "org.example.policy", "version": "1"}}
    status, _, created = _request(url, "POST", f"/v1/users/{patient}/datasets", client, as_patient)
    assert status == 201
    start = donation.due_windows(datetime.now(UTC), 7, 30)[-1].start + timedelta(days=2)
    day = [{"type": "cbg", "units": "mg/dL", "value": 110, "deviceId": "Policy-CGM",
            "time": format_utc(start + timedelta(minutes=5 * n))} for n in range(48)]  # fmt: skip
    assert (
        _request(url, "POST", f"/v1/datasets/{created['data']['id']}/data", day, as_patient)[0]
        == 200
    )
    assert (
        _request(url, "PUT", f"/v1/users/{patient}/donation", {"consent": True}, as_patient)[0]
        == 200
    )
    population = f"/v1/users/{patient}/population"
    assert _request(url, "PUT", population, {"share": True}, as_patient)[0] == 200
    assert _request(url, "GET", population, None, as_patient)[0] == 200
    assert _request(url, "GET", "/v1/population?hours=24", None, as_patient)[0] == 200
    stack.invoke("summarize", {"iteration": 1})
    assert _request(url, "GET", f"/v1/users/{patient}/summary", None, as_patient)[0] == 200
    # A followed Nightscout site, polled by its schedule.
    source = f"/v1/users/{patient}/nightscout/source"
    with nightscout_sites() as sites:
        newest = int(datetime.now(UTC).timestamp() * 1000)
        sites.add("walk", Site(entries=sgv_entries(newest, 3)))
        link = {"url": sites.url("walk"), "token": "walk-site-token"}
        assert _request(url, "PUT", source, link, as_patient)[0] == 200
        stack.invoke("poll", {})
        status, _, shown = _request(url, "GET", source, None, as_patient)
        assert status == 200 and shown["data"]["entriesImported"] == 3, shown

    clinician_id, as_clinician = sign_up("clinician")
    status, _, clinic = _request(
        url, "POST", "/v1/clinics", {"name": "Policy clinic"}, as_clinician
    )
    assert status == 200
    patients = f"/v1/clinics/{clinic['id']}/patients"
    second, as_second = sign_up("patient")
    codes = f"/v1/clinics/{clinic['id']}/share_codes"
    for user, headers in ((patient, as_patient), (second, as_second)):
        status, _, code = _request(url, "POST", codes, None, as_clinician)
        assert status == 201
        joined = _request(
            url, "POST", f"{patients}/{user}", {"shareCode": code["data"]["shareCode"]}, headers
        )
        assert joined[0] == 200
    status, _, page = _request(url, "GET", f"{patients}?limit=1&period=7d", None, as_clinician)
    assert status == 200 and page["meta"]["nextCursor"]
    cursor = page["meta"]["nextCursor"]
    assert (
        _request(url, "GET", f"{patients}?limit=1&period=7d&cursor={cursor}", None, as_clinician)[0]
        == 200
    )
    # Tidepool's routes: every call they make is allowed too.
    for method, path, body, headers in (
        ("GET", "/auth/login", None, as_patient),
        ("GET", "/auth/user", None, as_patient),
        ("POST", f"/data/{patient}", [{"type": "smbg", "deviceId": "M", "value": 5.5,
                                        "units": "mmol/L", "time": "2026-11-20T10:00:00Z"}],
         as_patient),
        ("GET", f"/data/{patient}?type=smbg", None, as_patient),
        ("GET", f"/data/{patient}?latest=true", None, as_patient),
        ("GET", f"/v1/users/{patient}/data_sets?size=1", None, as_patient),
        ("GET", f"/v1/patients/{patient}/clinics", None, as_patient),
        ("GET", f"/v1/clinicians/{clinician_id}/clinics", None, as_clinician),
        ("GET", f"{patients}/{patient}", None, as_clinician),
        ("GET", f"{patients}?offset=1&limit=1&search=a&cgm.timeInTargetPercent=%3E0", None,
         as_clinician),
        ("GET", f"/v1/clinics/{clinic['id']}/tide_report?period=7d", None, as_clinician),
    ):  # fmt: skip
        assert _request(url, method, path, body, headers)[0] == 200, path
    stack.invoke("summarize", {"iteration": 2})
    assert _request(url, "DELETE", f"{patients}/{second}", None, as_second)[0] == 204
    stack.invoke("export", {})
    _, as_researcher = sign_up("researcher")
    assert _request(url, "GET", "/v1/donations/slices", None, as_researcher)[0] == 200

    # A person's own data (followed to the file), then their account deleted and the
    # deletion carried on by the schedules, as AWS would run them.
    status, _, archive = _request(url, "GET", f"/v1/users/{patient}/export?format=json",
                                  None, as_patient)  # fmt: skip
    assert status == 200 and archive["profile"]["userId"] == patient
    deleted = _request(url, "DELETE", f"/v1/users/{patient}", {"password": password}, as_patient)
    assert deleted[0] == 202
    stack.invoke("export", {"task": "withdrawals"})
    stack.invoke("auth", {"source": "aws.events", "detail-type": "Scheduled Event"})


def test_every_call_a_function_makes_is_allowed_by_its_policies(journey) -> None:
    stack, calls, names, invoked = journey
    _walk(stack)
    functions = stack.template.of_type("AWS::Serverless::Function")
    denied = set()
    for function, service, operation, params in calls:
        granted = grants(functions[function])
        for action, resource in accesses(service, operation, params, names):
            if not allowed(granted, action, resource):
                denied.add(f"{function}: {action} on {resource}")
    assert not denied, "\n".join(sorted(denied))
    # A function the walk never runs is not checked: a new one must join the walk.
    assert invoked == set(functions)


def test_the_check_catches_the_share_that_failed_in_the_emulator() -> None:
    # ClinicFunction had only DynamoDBReadPolicy on AccountsTable, while sharing a patient
    # updates the account's clinicIds in its transaction.
    before = {
        "Properties": {
            "Policies": [{"DynamoDBReadPolicy": {"TableName": {"Ref": "AccountsTable"}}}]
        }
    }
    share = {"TransactItems": [{"Update": {"TableName": "accounts"}}]}
    needed = list(accesses("dynamodb", "TransactWriteItems", share, {"accounts": "AccountsTable"}))
    assert needed == [("dynamodb:UpdateItem", "AccountsTable")]
    assert not allowed(grants(before), *needed[0])
    assert allowed(grants(before), "dynamodb:Query", "AccountsTable/index/outdated")


def test_policy_resources_read_as_logical_ids() -> None:
    assert _symbol({"Fn::GetAtt": ["CursorSecret", "Id"]}) == "CursorSecret"
    assert _symbol({"Fn::Sub": "${DonationsBucket.Arn}/slices/*"}) == "DonationsBucket/slices/*"
