"""Glucose samples: the one small shape the summary engine computes with, and the packed
form the store keeps beside each cbg/smbg datum so that the summariser need not decode the
datum (standard library only: the upload packs them)."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any, NamedTuple

from tidewater.domain.timeutil import parse_rfc3339, to_epoch_ms
from tidewater.domain.units import MGDL, MGDL_PER_MMOLL, MMOLL, canonical_units

CGM = "cgm"
BGM = "bgm"
KIND_OF_TYPE = {"cbg": CGM, "smbg": BGM}

MINUTE_MS = 60_000
DEFAULT_DURATION = 5
LIBRE_DURATION = 15


class Sample(NamedTuple):
    """One CGM or BGM reading. Tuples sort by time, then value, then the rest: deterministic."""

    time_ms: int
    mmol: float  # value / 18.01559 for mg/dL readings, unrounded: what every statistic uses
    units: str  # canonical unit the device reported; ranges are classified in it
    value: float  # the reading in `units`
    duration: int  # whole minutes a CGM reading covers; 0 for BGM
    device_id: str
    kind: str  # CGM or BGM


def cgm_duration(device_id: str, sample_interval: Any = None) -> int:
    """Minutes one CGM reading covers: the device's own interval, else its brand's default."""
    if sample_interval is not None:
        interval = _number(sample_interval, "sampleInterval")
        if interval <= 0:
            raise ValueError("sampleInterval must be positive")
        # A sub-minute interval still counts one minute, so exact duplicates stay masked.
        return max(1, int(interval) // MINUTE_MS)
    if "AbbottFreeStyleLibre" in device_id and "AbbottFreeStyleLibre3" not in device_id:
        return LIBRE_DURATION
    return DEFAULT_DURATION


def parse_time_ms(text: Any) -> int:
    """Epoch milliseconds of an RFC 3339 time; the canonical `...sssZ` form takes a fast path."""
    if isinstance(text, str) and len(text) == 24 and text[4:11:3] + text[19::4] == "--T.Z":
        try:
            return to_epoch_ms(datetime.fromisoformat(text))
        except ValueError:
            pass
    return to_epoch_ms(parse_rfc3339(text))


def sample_from_datum(datum: Mapping[str, Any]) -> Sample | None:
    """A Sample from a raw client datum or a stored one; None for types other than cbg/smbg.

    Stored datums carry mmol/L in `value` and the reading as sent in `originalUnits` /
    `originalValue`; the reading as sent decides the range. Malformed cbg/smbg → ValueError.
    """
    kind = KIND_OF_TYPE.get(datum.get("type"))  # type: ignore[arg-type]
    if kind is None:
        return None
    units = canonical_units(datum.get("units"))  # type: ignore[arg-type]
    if units is None:
        raise ValueError("units must be mg/dL or mmol/L")
    value = datum.get("value")
    if type(value) is not float or not math.isfinite(value):  # (a float: the stored form)
        value = _number(value, "value")
    mmol = value / MGDL_PER_MMOLL if units == MGDL else value  # `to_mmol`, units canonical
    reported_units, reported = units, value
    if "originalUnits" in datum and "originalValue" in datum:
        original_units = canonical_units(datum["originalUnits"])
        if original_units is None:
            raise ValueError("originalUnits must be mg/dL or mmol/L")
        reported_units, reported = original_units, _number(datum["originalValue"], "originalValue")
    device_id = datum.get("deviceId") or ""
    if not isinstance(device_id, str):
        raise ValueError("deviceId must be a string")
    duration = cgm_duration(device_id, datum.get("sampleInterval")) if kind == CGM else 0
    return Sample(
        parse_time_ms(datum.get("time")), mmol, reported_units, reported, duration, device_id, kind
    )


def coerce_sample(item: Sample | Mapping[str, Any]) -> Sample | None:
    """Loaders may hand back Samples or datums; both become Samples."""
    return item if isinstance(item, Sample) else sample_from_datum(item)


def _number(raw: Any, name: str) -> float:
    if isinstance(raw, Decimal):  # DynamoDB hands numbers back as Decimal
        raw = float(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"{name} must be a finite number")
    return raw


# A sample packed (the datum item's `sample`): time in epoch ms, mmol/L, the reading as
# reported, reported in mg/dL or not, minutes covered. 27 bytes, so its base64 (the wire's)
# is 36 characters without padding: a page's values joined are the base64 of them all.
PACKED = struct.Struct("<qdd?H")


def packed_sample(datum: Mapping[str, Any]) -> bytes | None:
    """The sample of a stored cbg/smbg datum, packed; None for other types, and for a datum
    without a sample or one too long to pack (the summariser then reads its body, and says
    what is wrong with it). The device id is left out: only a tie in time needs it (to
    order and deduplicate), and `samples_from_packed` refuses ties."""
    try:
        sample = sample_from_datum(datum)
    except ValueError:
        return None
    if sample is None or not 0 <= sample.duration <= 0xFFFF:
        return None
    return PACKED.pack(
        sample.time_ms, sample.mmol, sample.value, sample.units == MGDL, sample.duration
    )


def samples_from_packed(packed: bytes, kind: str) -> list[Sample] | None:
    """The samples of packed ones (in time order, as stored: `samples_between`), or None when
    two share a time (the bodies say which comes first, and whether one repeats the other)."""
    out = [
        Sample(t, mmol, MGDL if mgdl else MMOLL, value, duration, "", kind)
        for t, mmol, value, mgdl, duration in PACKED.iter_unpack(packed)
    ]
    if any(a.time_ms >= b.time_ms for a, b in pairwise(out)):
        return None
    return out
