"""A Query answer of packed samples read from its bytes (`store.datums.sample_page`): the
samples its items hold, in order, in the service's compact JSON and in moto's spaced JSON;
an answer of any other form is left to the bodies (None), never misread."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tidewater.domain.samples import PACKED
from tidewater.store.datums import _decoded, sample_page

SAMPLES = [
    PACKED.pack(1_704_067_200_000 + 300_000 * i, 5.5 + i % 20, 99.0 + i, True, 5)
    for i in range(100)
]
LAST = {"userId": {"S": "Items"}, "sk": {"S": 'cbg#2024-01-01T00:00:00.000Z#"]'}}


def answer(items: list[dict[str, Any]], compact: bool, last: bool = True, **extra: Any) -> bytes:
    # The page's last key first: it holds "Items" and "]" (the service's order differs).
    body: dict[str, Any] = {"LastEvaluatedKey": LAST} if last else {}
    body |= {"Count": len(items), "Items": items, "ScannedCount": len(items)}
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(body | extra, separators=separators).encode()


def item(packed: bytes) -> dict[str, Any]:
    return {"sample": {"B": base64.b64encode(packed).decode()}}


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("count", [1, 2, 7, 64, 65, 100])  # (a few are sliced, more not)
@pytest.mark.parametrize("last", [True, False])
def test_an_answer_s_samples_are_its_items_values_in_order(
    compact: bool, count: int, last: bool
) -> None:
    page = sample_page(answer([item(p) for p in SAMPLES[:count]], compact, last))
    assert page is not None
    assert page.last == (LAST if last else None)
    assert _decoded([page.text]) == b"".join(SAMPLES[:count])


@pytest.mark.parametrize("compact", [True, False])
def test_an_empty_page_has_no_samples_and_may_say_where_the_next_starts(compact: bool) -> None:
    page = sample_page(answer([], compact))
    assert page is not None and page.text == b"" and page.last == LAST
    final = sample_page(answer([], compact, last=False))
    assert final is not None and final.last is None


def shorter(packed: bytes) -> dict[str, Any]:
    return {"sample": {"B": base64.b64encode(packed[:24]).decode()}}


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize(
    "odd",
    [
        {},  # stored before samples were packed
        {"sample": {"S": "A" * 36}},
        {"sample": {"B": "A" * 35 + '"'}},
        {"sample": {"B": "A" * 36}, "body": {"S": "{}"}},
        "shorter",
    ],
)
@pytest.mark.parametrize("count", [7, 100])
def test_an_item_of_another_form_leaves_the_page_to_the_bodies(
    compact: bool, odd: Any, count: int
) -> None:
    items = [item(p) for p in SAMPLES[:count]]
    items[3] = shorter(SAMPLES[3]) if odd == "shorter" else odd
    assert sample_page(answer(items, compact)) is None


def test_a_count_that_is_not_the_items_leaves_the_page_to_the_bodies() -> None:
    items = [item(p) for p in SAMPLES[:7]]
    assert sample_page(answer(items, True, Count=6)) is None
    assert sample_page(b'{"Count": 0}') is None


def test_a_value_that_is_not_base64_is_no_sample() -> None:
    page = sample_page(answer([{"sample": {"B": "A" * 35 + "*"}}], True))
    assert page is not None and _decoded([page.text]) is None


@pytest.mark.parametrize(
    "broken", [b"", b'{"Count": 1, "Items": [', b'{"Count": 1, "Items": [{"sample": ]}', b"[]"]
)
def test_an_answer_that_is_not_one_is_left_to_the_bodies(broken: bytes) -> None:
    assert sample_page(broken) is None
