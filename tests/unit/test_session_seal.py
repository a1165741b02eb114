"""A session's refresh token is kept sealed: unreadable, and bound to its session."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from tidewater.store.sessions import seal, seal_key, unseal

KEY = seal_key(b"platform secret")
TOKEN = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.refresh"


def test_a_sealed_token_opens_for_its_session_only() -> None:
    sealed = seal(KEY, "session-1", TOKEN)
    assert TOKEN not in sealed and "refresh" not in sealed
    assert unseal(KEY, "session-1", sealed) == TOKEN
    with pytest.raises(InvalidTag):
        unseal(KEY, "session-2", sealed)  # moved to another session's item
    with pytest.raises(InvalidTag):
        unseal(seal_key(b"another secret"), "session-1", sealed)


def test_sealing_twice_gives_two_different_texts() -> None:
    assert seal(KEY, "s", TOKEN) != seal(KEY, "s", TOKEN)  # a fresh nonce each time


def test_the_sealing_key_is_not_the_secret_itself() -> None:
    assert KEY != b"platform secret" and len(KEY) == 32
