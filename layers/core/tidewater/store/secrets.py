"""Secrets the functions need, read once per process from Secrets Manager."""

from __future__ import annotations

from functools import cache


class SecretsRepository:
    def __init__(self, cursor_secret_arn: str, region: str) -> None:
        self.cursor_secret_arn = cursor_secret_arn
        self.region = region

    def cursor_key(self) -> bytes:
        """The HMAC key that signs every pagination cursor (data reads, clinic lists)."""
        return _secret(self.cursor_secret_arn, self.region).encode()

    def platform_secret(self) -> bytes:
        """The same secret, for keys derived from it for other uses (store/sessions.py)."""
        return self.cursor_key()


@cache
def _secret(arn: str, region: str) -> str:
    import boto3  # here: only the functions that sign cursors pay for its import

    client = boto3.client("secretsmanager", region_name=region)
    return str(client.get_secret_value(SecretId=arn)["SecretString"])
