"""moto's server playing DynamoDB, S3, Cognito and Secrets Manager for the local stack, with
every resource created from the template's own properties."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from tidewater_local.cfn import Template
from tidewater_local.moto_queries import quicker_queries

REGION = "us-east-1"
# The local stack follows Nightscout sites on this machine (its tests' servers, another local
# account's /api/v1/entries): http and loopback addresses, which AWS never allows.
LOCAL_REACH = {"SOURCE_ALLOW_HTTP": "true", "SOURCE_ALLOW_PRIVATE": "true"}
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Table properties CreateTable understands; the others are applied by their own calls.
_CREATE_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)


class MotoServer:
    """moto's threaded server on 127.0.0.1 and a free port, in this process."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per SDK call
        # User pool and client ids derived from their names and settings, not drawn: the same
        # at every start, so a session token from before a restart keeps its issuer and
        # audience (moto signs every pool's tokens with one fixed key).
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY"] = "HASH"
        os.environ["MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY"] = "HASH"
        quicker_queries()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()


def point_sdk_at(endpoint: str) -> None:
    """Make boto3 and PynamoDB (botocore underneath) talk to `endpoint` with fake keys."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE"):
        os.environ.pop(name, None)
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def table_arguments(properties: dict[str, Any], name: str) -> dict[str, Any]:
    args = {k: properties[k] for k in _CREATE_TABLE_KEYS if k in properties}
    args["TableName"] = name
    if "SSESpecification" in properties:  # CloudFormation spells the API's `Enabled` so
        args["SSESpecification"] = {"Enabled": properties["SSESpecification"]["SSEEnabled"]}
    if args.get("BillingMode", "PROVISIONED") == "PROVISIONED":
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        args["ProvisionedThroughput"] = properties.get("ProvisionedThroughput", throughput)
    return args


# User pool and client properties that CreateUserPool / CreateUserPoolClient take as they are.
_USER_POOL_KEYS = (
    "Policies",
    "UsernameAttributes",
    "AutoVerifiedAttributes",
    "AdminCreateUserConfig",
    "Schema",
    "AccountRecoverySetting",
    "MfaConfiguration",
    "UserPoolAddOns",
)
_CLIENT_KEYS = (
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "IdTokenValidity",
    "AccessTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
)


def create_identity(template: Template, session: boto3.session.Session) -> dict[str, str]:
    """Create the template's Cognito user pools and clients; returns what `!Ref` of each
    resolves to (the generated pool and client ids)."""
    cognito = session.client("cognito-idp")
    refs: dict[str, str] = {}
    existing = {p["Name"]: p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]}
    for logical_id, resource in template.of_type("AWS::Cognito::UserPool").items():
        name = template.physical_name(logical_id)
        if name in existing:
            refs[logical_id] = existing[name]
            continue
        props = resource.get("Properties", {})
        args = {k: props[k] for k in _USER_POOL_KEYS if k in props}
        refs[logical_id] = cognito.create_user_pool(PoolName=name, **args)["UserPool"]["Id"]
    for logical_id, resource in template.of_type("AWS::Cognito::UserPoolClient").items():
        props = resource["Properties"]
        pool_id = template.resolve(props["UserPoolId"], refs) or ""
        clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)
        named = {c["ClientName"]: c["ClientId"] for c in clients["UserPoolClients"]}
        if template.physical_name(logical_id) in named:
            refs[logical_id] = named[template.physical_name(logical_id)]
            continue
        args = {k: props[k] for k in _CLIENT_KEYS if k in props}
        client = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName=template.physical_name(logical_id), **args
        )
        refs[logical_id] = client["UserPoolClient"]["ClientId"]
    for logical_id, resource in template.of_type("AWS::Cognito::UserPoolGroup").items():
        props = resource["Properties"]
        pool_id = template.resolve(props["UserPoolId"], refs) or ""
        args = {k: props[k] for k in ("Description", "Precedence") if k in props}
        with suppress(cognito.exceptions.GroupExistsException):
            cognito.create_group(UserPoolId=pool_id, GroupName=props["GroupName"], **args)
        refs[logical_id] = props["GroupName"]  # `!Ref` of a group is its name
    return refs


def _user_pools(template: Template) -> dict[str, Any]:
    """The template's user pools in moto's backend (this process's, behind its server too),
    by logical id. Cognito has no API that sets a user's `sub` or reads a password: keeping
    users across a restart has to reach into moto's model of them."""
    from moto.cognitoidp.models import cognitoidp_backends

    cognito = boto3.client("cognito-idp", region_name=REGION)
    by_name = {p["Name"]: p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]}
    pools = {}
    for logical_id in template.of_type("AWS::Cognito::UserPool"):
        pool_id = by_name[template.physical_name(logical_id)]
        arn = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
        pools[logical_id] = cognitoidp_backends[arn.split(":")[4]][REGION].user_pools[pool_id]
    return pools


def cognito_users(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Every user of the template's pools, all a restart needs: sub (Cognito's user id),
    user name, password, status, attributes (the platform's userId among them) and groups
    (the roles an operator granted)."""
    return {
        logical_id: [
            {
                "sub": user.id,
                "username": user.username,
                "password": user.password,
                "status": user.status,
                "enabled": user.enabled,
                "attributes": user.attributes,
                "groups": sorted(group.group_name for group in user.groups),
                "created": user.create_date.isoformat(),
                "modified": user.last_modified_date.isoformat(),
            }
            for user in pool.users.values()
        ]
        for logical_id, pool in _user_pools(template).items()
    }


def restore_cognito_users(template: Template, saved: dict[str, list[dict[str, Any]]]) -> int:
    """Put users kept by `cognito_users` back into the (new, empty) pools; returns how many."""
    from moto.cognitoidp.models import CognitoIdpUser

    pools = _user_pools(template)
    restored = 0
    for logical_id, users in saved.items():
        if logical_id not in pools:
            raise ValueError(f"the snapshot has a user pool {logical_id} the template has not")
        pool = pools[logical_id]
        for kept in users:
            user = CognitoIdpUser(
                pool.id, kept["username"], kept["password"], kept["status"], kept["attributes"]
            )
            user.id = kept["sub"]
            user.update_attributes([{"Name": "sub", "Value": kept["sub"]}])
            user.enabled = kept["enabled"]
            user.create_date = datetime.fromisoformat(kept["created"])
            user.last_modified_date = datetime.fromisoformat(kept["modified"])
            pool.users[user.username] = user
            for name in kept.get("groups", []):  # snapshots from before roles were groups
                group = pool.groups[name]
                group.users.add(user)
                user.groups.add(group)
            restored += 1
    return restored


def create_secrets(template: Template, session: boto3.session.Session) -> dict[str, str]:
    """Create the template's generated secrets; `!Ref` of a secret is its ARN."""
    secrets_manager = session.client("secretsmanager")
    refs: dict[str, str] = {}
    for logical_id, resource in template.of_type("AWS::SecretsManager::Secret").items():
        spec = resource.get("Properties", {}).get("GenerateSecretString", {})
        name = template.physical_name(logical_id)
        try:
            refs[logical_id] = secrets_manager.describe_secret(SecretId=name)["ARN"]
        except secrets_manager.exceptions.ResourceNotFoundException:
            value = secrets.token_urlsafe(int(spec.get("PasswordLength", 32)))
            refs[logical_id] = secrets_manager.create_secret(Name=name, SecretString=value)["ARN"]
    return refs


def create_resources(
    template: Template, session: boto3.session.Session | None = None
) -> dict[str, str]:
    """Create every DynamoDB table, S3 bucket and Cognito user pool the template declares, as
    it declares them; returns the ids `!Ref` resolves to where AWS would generate them."""
    session = session or boto3.session.Session(region_name=REGION)
    dynamodb = session.client("dynamodb")
    s3 = session.client("s3")
    existing = set(dynamodb.list_tables()["TableNames"])
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
        props, name = resource["Properties"], template.physical_name(logical_id)
        if name in existing:
            continue
        dynamodb.create_table(**table_arguments(props, name))
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    for logical_id, resource in template.of_type("AWS::S3::Bucket").items():
        props, name = resource.get("Properties", {}), template.physical_name(logical_id)
        s3.create_bucket(Bucket=name)
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration=props["VersioningConfiguration"]
            )
        if "BucketEncryption" in props:
            rules = [  # CloudFormation's ServerSideEncryptionByDefault is the API's Apply…
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules}
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
            )
    return {**create_identity(template, session), **create_secrets(template, session)}


@contextmanager
def in_process(template: Template, stage: str = "test") -> Iterator[dict[str, str]]:
    """moto's `mock_aws` in this process, with every resource of the template created and
    the functions' environment set as the local stack sets it (restored on exit). For tests
    and benchmarks; yields that environment."""
    from moto import mock_aws

    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(LOCAL_CREDENTIALS)
    quicker_queries()
    try:
        with mock_aws():
            env = template.environment({"Stage": stage, **create_resources(template)})
            env.update(LOCAL_REACH)
            os.environ.update(env)
            yield env
    finally:
        os.environ.clear()
        os.environ.update(saved)
