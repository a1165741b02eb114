"""The template keeps the slice -> donor mapping out of the donations function's reach."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from tidewater.settings import Settings
from tidewater.store import keys


def _statements(template, function: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The function's inline statements, each with `Action` as a list."""
    policies = template.resources[function]["Properties"]["Policies"]
    found = [s for p in policies if isinstance(p, dict) for s in p.get("Statement", [])]
    return [{**s, "Action": [s["Action"]] if isinstance(s["Action"], str) else s["Action"]}
            for s in found]  # fmt: skip


def test_the_donations_function_cannot_touch_the_mapping(template) -> None:
    statements = _statements(template, "DonationsFunction")
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert dynamo, "the donations function needs its own, scoped, DynamoDB statement"
    for statement in dynamo:
        allowed = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert not {"dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"} & set(
            statement["Action"]
        )
        own = [keys.donation_consent_pk("u1"), keys.DONATION_DONORS, keys.DONATION_WITHDRAWALS]
        export_only = [keys.DONATION_WINDOWS, keys.donation_member_pk("u1")]
        assert all(any(fnmatchcase(k, p) for p in allowed) for k in own)
        assert not any(fnmatchcase(k, p) for k in export_only for p in allowed)
    # No managed policy grants the whole table.
    policies = template.resources["DonationsFunction"]["Properties"]["Policies"]
    assert all("Statement" in p for p in policies)


def test_the_export_can_remove_every_version_of_a_rewritten_slice(template) -> None:
    actions = {a for s in _statements(template, "ExportFunction") for a in s["Action"]}
    assert {"s3:DeleteObjectVersion", "s3:ListBucketVersions", "s3:AbortMultipartUpload"} <= (
        actions
    )
    props = template.resources["ExportFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1


def test_donation_settings_come_from_template_parameters(template) -> None:
    env = template.environment()
    settings = Settings.from_env(env)
    assert (settings.donation_slice_days, settings.donation_embargo_days) == (7, 30)
    assert (settings.donation_min_donors, settings.donation_keep_seconds) == (5, False)
    assert settings.public_donations is False
    public = Settings.from_env({**env, "PUBLIC_DONATIONS": "true"})
    assert public.public_donations is True
