"""Settings come from the environment once, each with its one default."""

from __future__ import annotations

from tidewater.settings import Settings


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.region, settings.summary_batch_size, settings.public_donations) == (
        "us-east-1",
        250,
        False,
    )


def test_variables_are_read_with_their_setting_s_type() -> None:
    env = {"AWS_DEFAULT_REGION": "eu-west-1", "SUMMARY_BATCHES": "9", "PUBLIC_DONATIONS": "TRUE"}
    settings = Settings.from_env(env)
    assert (settings.region, settings.summary_batches, settings.public_donations) == (
        "eu-west-1",
        9,
        True,
    )
    assert Settings.from_env({**env, "AWS_REGION": "us-west-2"}).region == "us-west-2"
