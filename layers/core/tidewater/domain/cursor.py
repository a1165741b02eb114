"""Pagination cursors: where a list resumes, signed (HMAC-SHA256) and bound to the list.

A cursor is `base64url(JSON state) . base64url(MAC)`. The MAC covers the state and the
`scope`, a string naming what the cursor pages over (whose data, which types and window, which
clinic list in which order): a cursor altered, forged without the key, or used with another
list does not open. The state is the store's resume position, never a raw LastEvaluatedKey
handed to a client to edit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Final

from tidewater.domain.errors import BadRequest

MAX_LENGTH: Final = 2048
_MAC_BYTES: Final = 16


class BadCursor(BadRequest):
    """The cursor was not made by us, for this list: 400."""

    code = "cursor-not-valid"

    def __init__(self) -> None:
        super().__init__("the cursor is not valid for this list", parameter="cursor")


def scope(*parts: str) -> str:
    """What a cursor is bound to, from the parts that name the list (a separator that no part
    can fake: each part is length-prefixed)."""
    return "".join(f"{len(part)}:{part}" for part in parts)


def sign_cursor(state: Any, bound_to: str, key: bytes) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode())
    mac = _mac(key, bound_to, payload.rstrip(b"="))
    return f"{_text(payload)}.{_text(base64.urlsafe_b64encode(mac))}"


def open_cursor(cursor: str, bound_to: str, key: bytes) -> Any:
    """The state a cursor carries; BadCursor unless we signed it for `bound_to`."""
    if len(cursor) > MAX_LENGTH:
        raise BadCursor
    try:
        payload_text, mac_text = cursor.split(".", 1)
        payload = payload_text.encode("ascii")
        mac = base64.urlsafe_b64decode(_unpad(mac_text))
    except (ValueError, TypeError) as error:
        raise BadCursor from error
    if not hmac.compare_digest(mac, _mac(key, bound_to, payload)):
        raise BadCursor
    try:
        return json.loads(base64.urlsafe_b64decode(_unpad(payload_text)))
    except ValueError as error:  # pragma: no cover - we signed it, so it is our JSON
        raise BadCursor from error


def _mac(key: bytes, bound_to: str, payload: bytes) -> bytes:
    message = bound_to.encode() + b"\n" + payload
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _text(encoded: bytes) -> str:
    return encoded.decode().rstrip("=")


def _unpad(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode("ascii")
