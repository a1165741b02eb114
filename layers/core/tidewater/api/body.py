"""Request bodies: refused when too large before they are parsed, then parsed as strict JSON.

Strict: only what RFC 8259 calls JSON. Python's `json` accepts `NaN`, `Infinity` and
`-Infinity`, turns `1e309` into `inf`, and raises ValueError (4,301 digits), RecursionError
(deep nesting) or UnicodeDecodeError (bytes that are not UTF-8) where a client sent garbage:
each of those is the client's 400 here, with the pointer "" (the whole body).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any, Final

from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from tidewater.domain.errors import InvalidData, PayloadTooLarge, Problem

# Lambda's synchronous payload limit (API Gateway's own is 10 MB).
MAX_BODY_BYTES: Final = 6 * 1024 * 1024
# The largest double: a number beyond it has no value any client or store can keep.
_FLOAT_MAX: Final = 1.7976931348623157e308
_DIGITS_MAX: Final = 309
BODY_NOT_JSON: Final = "body-not-json"


class BodyNotJson(InvalidData):
    """The body is not one JSON document (RFC 8259): nothing of it was read."""

    def __init__(self, detail: str) -> None:
        super().__init__([Problem("", BODY_NOT_JSON, "invalid body", detail)])


def _no_constant(name: str) -> Any:
    raise BodyNotJson(f"the body is not JSON: `{name}` is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BodyNotJson("the body holds a number too large for a double")
    return number


def _bounded_int(text: str) -> int:
    # Checked on the text: int() of 4,301 digits raises, and 309 digits are beyond a double.
    if len(text.lstrip("-")) > _DIGITS_MAX:
        raise BodyNotJson("the body holds a number too large for a double")
    number = int(text)
    if abs(number) > _FLOAT_MAX:
        raise BodyNotJson("the body holds a number too large for a double")
    return number


def loads(data: bytes | str) -> Any:
    """`data` as JSON, or BodyNotJson."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except UnicodeDecodeError:
        raise BodyNotJson("the body is not UTF-8 text") from None
    except RecursionError:
        raise BodyNotJson("the body is nested too deeply") from None
    except ValueError:  # JSONDecodeError is one
        raise BodyNotJson("the body is not JSON") from None


def json_body(event: BaseProxyEvent, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request body as JSON (None when empty); 413 above `max_bytes`, 400 when it is not
    strict JSON."""
    raw = event.body or ""
    if event.is_base64_encoded:
        if len(raw) * 3 // 4 > max_bytes + 2:
            raise PayloadTooLarge(f"the body is larger than {max_bytes // (1024 * 1024)} MB")
        try:
            data: bytes | str = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise BodyNotJson("the body is not valid base64") from None
    else:
        # Characters are never more than bytes in UTF-8: measure in bytes only when needed.
        data = raw.encode() if len(raw) * 4 > max_bytes else raw
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes // (1024 * 1024)} MB")
    if not data:
        return None
    return loads(data)


def dumps(payload: Any) -> str:
    """An answer as JSON, as Powertools writes it, but never NaN or an infinity: those are
    not JSON, and an answer that holds one is our bug (a 500), not the client's problem."""
    return json.dumps(payload, allow_nan=False, separators=(",", ":"), cls=Encoder)
