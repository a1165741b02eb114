"""The template's access controls: who may write what in Cognito, who grants roles, and
the throttling of the routes that guess passwords or make accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Cognito actions that change what an account is (its groups, its attributes) or the groups
# themselves: an operator's, with AWS credentials, never a function's.
GRANTING = {
    "cognito-idp:*",
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:CreateGroup",
    "cognito-idp:UpdateGroup",
}


def _actions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Action", "NotAction"):
                yield from [value] if isinstance(value, str) else value
            else:
                yield from _actions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _actions(value)


def test_users_may_write_their_name_and_nothing_else(template) -> None:
    (client,) = template.of_type("AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["WriteAttributes"] == ["name"]


def test_each_granted_role_is_a_group_of_the_pool_that_grants_nothing_in_aws(template) -> None:
    groups = template.of_type("AWS::Cognito::UserPoolGroup").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == ["clinician", "researcher"]
    for group in groups:
        assert group["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
        assert "RoleArn" not in group["Properties"]


def test_no_function_may_grant_a_role_or_change_an_attribute(template) -> None:
    for logical_id, function in template.of_type("AWS::Serverless::Function").items():
        policies = function["Properties"].get("Policies", [])
        assert not GRANTING & set(_actions(policies)), logical_id


def test_login_and_sign_up_have_their_own_lower_throttling(template) -> None:
    (api,) = template.of_type("AWS::Serverless::HttpApi").values()
    settings = api["Properties"]["RouteSettings"]
    default = api["Properties"]["DefaultRouteSettings"]
    public = {f"{r.method} {r.path}" for r in template.routes() if r.public}
    assert set(settings) == {"POST /auth/login", "POST /v1/users"} <= public
    for route, prefix in (("POST /auth/login", "Login"), ("POST /v1/users", "SignUp")):
        burst, rate = (settings[route][f"Throttling{k}Limit"] for k in ("Burst", "Rate"))
        assert (burst, rate) == ({"Ref": f"{prefix}BurstLimit"}, {"Ref": f"{prefix}RateLimit"})
        burst_default = int(template.parameter(f"{prefix}BurstLimit"))
        rate_default = int(template.parameter(f"{prefix}RateLimit"))
        assert 1 <= rate_default <= burst_default < default["ThrottlingBurstLimit"]
        assert rate_default < default["ThrottlingRateLimit"]
    assert int(template.parameter("SignUpRateLimit")) < int(template.parameter("LoginRateLimit"))
