"""Datum ids and dedup keys.

The platform path gives every datum a random id. The legacy (jellyfish) path derives the id
from a few of the datum's fields, so that the same event uploaded twice, or embedded in one
event and uploaded on its own, gets the same id wherever and whenever it is sent.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from tidewater.domain.datums.checks import Datum

DEFAULT_ID_FIELDS: Final = ("type", "deviceId", "time")
ID_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "bolus": ("type", "subType", "deviceId", "time"),
    "basal": ("type", "deliveryType", "deviceId", "time"),
    "deviceEvent": ("type", "subType", "time", "deviceId"),
    "smbg": ("type", "deviceId", "time", "value"),
}
# The fields that tell two datums of one device apart on the platform path.
_EXACT_INTEGERS: Final = 2.0**53
DEDUP_KEY_LENGTH: Final = 16  # hex digits: 64 bits, within one user's (type, time) key


def random_id() -> str:
    """A platform id: an RFC 4122 version 4 UUID without its dashes (32 hex digits).

    The bits of `uuid.uuid4().hex`, without building a UUID object (a third of the cost).
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def js_number_str(x: float) -> str:
    """A number as JavaScript's `String(x)` writes it: `5` not `5.0`, `1e+21`, `1e-7`."""
    if isinstance(x, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"  # JavaScript writes -0 as 0 too
    if x < 0:
        return "-" + js_number_str(-x)
    if x < _EXACT_INTEGERS and x.is_integer():
        return str(int(x))  # below 2**53 the exact digits are also the shortest
    text = repr(x)
    if "e" not in text:
        # repr's shortest round-trip digits, laid out as JavaScript does.
        return text.removesuffix(".0")
    # repr gives the shortest digits that round-trip, as ECMAScript requires; only the
    # layout of exponents differs (ECMA-262 Number::toString).
    _, digit_tuple, exponent = Decimal(text).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    k = len(digits)
    # value = 0.digits * 10**n
    n = exponent + len(digit_tuple)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(e)}"


def id_field_str(value: Any) -> str:
    """A field as JavaScript's `String(value)` writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number_str(value)
    raise TypeError("an id field must be a string or a number")


def jellyfish_id(values: Iterable[Any]) -> str:
    """SHA-1 over each value followed by `_`, then `bootstrap_`; lowercase base32hex."""
    text = "".join([id_field_str(value) + "_" for value in values]) + "bootstrap_"
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).digest()  # an id, not a secret
    return base64.b32hexencode(digest).decode().lower()


def id_fields(datum_type: str) -> tuple[str, ...]:
    return ID_FIELDS.get(datum_type, DEFAULT_ID_FIELDS)


def legacy_id(datum: Datum) -> str:
    """The deterministic jellyfish id of a normalised datum (mmol/L, canonical `time`)."""
    try:
        return jellyfish_id(datum[field] for field in id_fields(datum["type"]))
    except KeyError as missing:
        raise ValueError(f"cannot derive an id without `{missing.args[0]}`") from None


def dedup_key(datum: Datum) -> str:
    """The same key for the same event of the same device on the platform path.

    Over deviceId, type, subType/deliveryType, time, and units and value where present, of
    the normalised datum. A datum that names its source record (`origin.id`, as Nightscout
    entries do) is keyed by that instead, so a corrected re-post replaces the first.
    """
    get = datum.get
    origin = get("origin")
    if type(origin) is dict and type(origin.get("id")) is str and origin["id"]:
        parts = ["origin", datum["type"], str(origin.get("name", "")), origin["id"]]
    else:
        parts = [
            datum["deviceId"],
            datum["type"],
            _part(get("subType")),
            _part(get("deliveryType")),
            datum["time"],
            _part(get("units")),
            _part(get("value")),
        ]
    # Length-prefixed, so that no two different field lists give the same text.
    text = "".join([f"{len(part)}:{part}" for part in parts])
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:DEDUP_KEY_LENGTH]


def _part(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is int or type(value) is float:
        return js_number_str(value)
    return ""
