"""Pagination cursors open only as they were signed: by us, for the same list."""

from __future__ import annotations

import pytest

from tidewater.domain.cursor import BadCursor, open_cursor, scope, sign_cursor
from tidewater.domain.errors import BadRequest

KEY = b"k" * 32
LIST = scope("patients", "clinic-1", "14d", "fullName", "False")


def test_a_cursor_opens_only_as_it_was_signed() -> None:
    state = {"phase": "index", "key": {"a": 1}}
    cursor = sign_cursor(state, LIST, KEY)
    assert open_cursor(cursor, LIST, KEY) == state
    assert "{" not in cursor and "phase" not in cursor  # opaque, URL-safe
    payload, _ = cursor.split(".")
    forged = sign_cursor({"offset": 9999}, LIST, b"another key")
    for bad in (cursor[:-2] + "AA", payload + "." + forged.split(".")[1], "garbage", "", "a.b.c"):
        with pytest.raises(BadCursor):
            open_cursor(bad, LIST, KEY)
    with pytest.raises(BadCursor):
        open_cursor(cursor, LIST, b"another key")
    with pytest.raises(BadCursor):
        open_cursor("x" * 5000, LIST, KEY)


def test_a_cursor_of_another_list_does_not_open() -> None:
    cursor = sign_cursor(["cbg", "cbg#2026"], scope("data", "alice", "cbg", "", "9999"), KEY)
    for other in (
        scope("data", "bob", "cbg", "", "9999"),  # someone else's data
        scope("data", "alice", "cbg,smbg", "", "9999"),  # other types
        scope("data", "alice", "cbg", "2030", "9999"),  # another window
        scope("data", "alicecbg", "", "", "9999"),  # the same letters, cut elsewhere
    ):
        with pytest.raises(BadCursor):
            open_cursor(cursor, other, KEY)


def test_a_bad_cursor_is_a_400_naming_the_cursor() -> None:
    error = BadCursor()
    assert isinstance(error, BadRequest)
    assert (error.status, error.code) == (400, "cursor-not-valid")
