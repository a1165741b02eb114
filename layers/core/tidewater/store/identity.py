"""Accounts' credentials live in the Cognito user pool, never in our tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tidewater.domain.errors import Conflict, InvalidData, NotFound, Problem, Unauthorized
from tidewater.domain.identity import GRANTED_ROLES, PASSWORD_RULE, Role

# Cognito's answers to a failed login, whatever the reason: all become the same 401.
_LOGIN_FAILURES = {
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
    "InvalidParameterException",
}


@dataclass(frozen=True)
class SignIn:
    id_token: str
    refresh_token: str


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    full_name: str
    user_id: str


class CognitoIdentity:
    def __init__(self, user_pool_id: str, client_id: str, region: str) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._region = region
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # here: only the functions that sign users in pay for its import

            self._client = boto3.client("cognito-idp", region_name=self._region)
        return self._client

    def authenticate(self, email: str, password: str) -> str:
        """The ID token for a correct email and password; Unauthorized otherwise."""
        return self.sign_in(email, password).id_token

    def sign_in(self, email: str, password: str) -> SignIn:
        """The ID token and the refresh token behind it, for a correct email and password;
        Unauthorized otherwise."""
        try:
            answer = self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in _LOGIN_FAILURES:
                raise Unauthorized("wrong email or password", code="login-failed") from None
            raise
        result = answer.get("AuthenticationResult", {})
        if not result.get("IdToken"):  # a challenge (MFA, new password) this API does not speak
            raise Unauthorized("this account needs another sign-in step", code="login-challenge")
        return SignIn(str(result["IdToken"]), str(result.get("RefreshToken") or ""))

    def refresh(self, refresh_token: str) -> str:
        """A new ID token for the session of `refresh_token` (the same `origin_jti`, a new
        hour); Unauthorized when Cognito no longer honours it (revoked, expired, user gone)."""
        try:
            answer = self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in _LOGIN_FAILURES:
                raise Unauthorized("the session has ended", code="session-ended") from None
            raise
        token = answer.get("AuthenticationResult", {}).get("IdToken")
        if not token:
            raise Unauthorized("the session has ended", code="session-ended")
        return str(token)

    def revoke(self, refresh_token: str) -> bool:
        """Revoke the refresh token in Cognito (and the tokens issued from it, for Cognito's
        own APIs). False when Cognito would not: our copy is gone either way, so the session
        can be neither refreshed nor used through this platform."""
        try:
            self.client.revoke_token(Token=refresh_token, ClientId=self.client_id)
        except (ClientError, NotImplementedError):
            return False
        return True

    def create_user(self, user: NewUser) -> None:
        """A confirmed user with a permanent password; Conflict if the email is taken."""
        attributes = [
            {"Name": "email", "Value": user.email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": user.full_name},
            {"Name": "custom:userId", "Value": user.user_id},
        ]
        try:
            self.client.admin_create_user(
                UserPoolId=self.user_pool_id,
                Username=user.email,
                UserAttributes=attributes,
                MessageAction="SUPPRESS",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "UsernameExistsException":
                raise Conflict("an account with this email exists", code="user-exists") from None
            if error.response["Error"]["Code"] == "InvalidParameterException":
                # Cognito's own test of an email (stricter than ours: `#@host.example`
                # passes ours) or of the name: the request's fault, not the service's.
                raise InvalidData(
                    [
                        Problem(
                            "/email",
                            "value-not-valid",
                            "invalid email",
                            "an email address that the identity service accepts is required",
                        )
                    ]
                ) from None
            raise
        try:
            self.client.admin_set_user_password(
                UserPoolId=self.user_pool_id,
                Username=user.email,
                Password=user.password,
                Permanent=True,
            )
        except ClientError as error:
            self.client.admin_delete_user(UserPoolId=self.user_pool_id, Username=user.email)
            if error.response["Error"]["Code"] == "InvalidPasswordException":
                problem = Problem(
                    "/password", "password-too-weak", "password too weak", PASSWORD_RULE
                )
                raise InvalidData([problem]) from None
            raise

    def delete_user(self, email: str) -> None:
        """Delete the user, and their sign-in with it; already gone is done."""
        try:
            self.client.admin_delete_user(UserPoolId=self.user_pool_id, Username=email)
        except ClientError as error:
            if error.response["Error"]["Code"] != "UserNotFoundException":
                raise

    def set_role(self, email: str, role: Role) -> str:
        """Make `role` the user's only role group (none for a patient), with Cognito's admin
        API (an operator's credentials: no app client can change groups). Tokens issued from
        then on carry it in `cognito:groups`. Returns the user's platform id."""
        try:
            user = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        except ClientError as error:
            if error.response["Error"]["Code"] == "UserNotFoundException":
                raise NotFound("no account with this email") from None
            raise
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        username = user["Username"]
        groups = self.client.admin_list_groups_for_user(
            UserPoolId=self.user_pool_id, Username=username
        )["Groups"]
        held = {g["GroupName"] for g in groups}
        for other in GRANTED_ROLES:
            if other != role and other.value in held:
                self.client.admin_remove_user_from_group(
                    UserPoolId=self.user_pool_id, Username=username, GroupName=other.value
                )
        if role in GRANTED_ROLES and role.value not in held:
            self.client.admin_add_user_to_group(
                UserPoolId=self.user_pool_id, Username=username, GroupName=role.value
            )
        return str(attributes.get("custom:userId", ""))
