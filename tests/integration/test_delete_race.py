"""Defect 4: an upload racing DELETE of its dataset left thousands of datums under a gone id,
which no route could delete. Now the two serialise on the dataset's state: whichever way
they interleave, once both are done the dataset and every datum of it are gone, the delete
answers 200 and the upload 200 (it finished first), 409 `data-set-deleted` or 404.

Each interleaving is forced with a gate (tests/faults.py) that holds one thread at an exact
DynamoDB call while the other runs; free-running trials add whatever the scheduler does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.faults import Faults
from tests.integration.ingest_support import ALICE, CLIENT, cbg
from tidewater.domain.errors import Conflict, NotFound
from tidewater.domain.timeutil import format_utc
from tidewater.services import ingest
from tidewater.store.models import AccountModel, DatasetModel, DatumModel
from tidewater.store.repos import repositories

NOW = datetime.now(UTC).replace(microsecond=0)
DATUMS = [cbg(format_utc(NOW - timedelta(minutes=5 * i)), 100 + i % 50) for i in range(120)]
# Stored in the dataset before a race, so that the delete has datums of its own to find.
EARLIER = [cbg(format_utc(NOW - timedelta(days=1, minutes=5 * i)), 90) for i in range(30)]


def _upload(dataset_id: str) -> str:
    """What the upload answered: 200, or the error's status and code."""
    try:
        result = ingest.upload(ALICE, dataset_id, DATUMS, repositories())
    except (Conflict, NotFound) as error:
        return f"{error.status} {error.code}"
    assert result.stored == len(DATUMS)
    return "200"


def _delete(dataset_id: str) -> str:
    ingest.delete_dataset(ALICE, dataset_id, repositories())
    return "200"


class Thread(threading.Thread):
    def __init__(self, work: Callable[[], str]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.answer: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.answer = self.work()
        except BaseException as error:  # handed to the test, which fails with it
            self.error = error

    def result(self) -> str:
        self.join(timeout=60)
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


def _nothing_left(dataset_id: str) -> None:
    repos = repositories()
    assert repos.datasets.get(dataset_id) is None
    assert repos.datums.upload_keys(ALICE.user_id, dataset_id) == []
    page = ingest.read_data(ALICE, ALICE.user_id, {}, repos)
    assert page.items == []  # ALICE had no other data: nothing of the upload is readable


def _new_dataset() -> str:
    return ingest.create_dataset(ALICE, ALICE.user_id, CLIENT, repositories()).id


# Where the upload is held while the whole delete runs, and what the upload then answers.
UPLOAD_HELD_AT = {
    "before its dataset check": (("GetItem", DatasetModel, 0), "404 not-found"),
    "before marking the summary": (("UpdateItem", AccountModel, 0), "409 data-set-deleted"),
    "before its first batch": (("BatchWriteItem", DatumModel, 0), "409 data-set-deleted"),
    "between batches": (("BatchWriteItem", DatumModel, 2), "409 data-set-deleted"),
    "before its second look": (("GetItem", DatasetModel, 1), "409 data-set-deleted"),
}


@pytest.mark.parametrize("point", sorted(UPLOAD_HELD_AT))
def test_a_delete_while_the_upload_is_held_leaves_nothing(faults: Faults, point: str) -> None:
    (operation, table, after), answer = UPLOAD_HELD_AT[point]
    dataset_id = _new_dataset()
    gate = faults.pause(operation, table, after=after)
    upload = Thread(lambda: _upload(dataset_id))
    upload.start()
    assert gate.reached.wait(timeout=10)
    assert _delete(dataset_id) == "200"
    gate.release.set()
    assert upload.result() == answer
    _nothing_left(dataset_id)


# Where the delete is held while the whole upload runs, and what the upload answers.
DELETE_HELD_AT = {
    "before marking the dataset deleting": (("UpdateItem", DatasetModel, 0), "200"),
    "before its sweep": (("Query", DatumModel, 0), "409 data-set-deleted"),
    "before deleting the datums": (("BatchWriteItem", DatumModel, 0), "409 data-set-deleted"),
    "before deleting the dataset": (("DeleteItem", DatasetModel, 0), "409 data-set-deleted"),
}


@pytest.mark.parametrize("point", sorted(DELETE_HELD_AT))
def test_an_upload_while_the_delete_is_held_leaves_nothing(faults: Faults, point: str) -> None:
    (operation, table, after), answer = DELETE_HELD_AT[point]
    dataset_id = _new_dataset()
    ingest.upload(ALICE, dataset_id, EARLIER, repositories())
    gate = faults.pause(operation, table, after=after)
    delete = Thread(lambda: _delete(dataset_id))
    delete.start()
    assert gate.reached.wait(timeout=10)
    assert _upload(dataset_id) == answer
    gate.release.set()
    assert delete.result() == "200"
    _nothing_left(dataset_id)


def test_free_running_races_leave_nothing(aws: None) -> None:
    for _ in range(6):
        dataset_id = _new_dataset()
        start = threading.Barrier(2)

        def upload(dataset_id: str = dataset_id, start: Any = start) -> str:
            start.wait()
            return _upload(dataset_id)

        def delete(dataset_id: str = dataset_id, start: Any = start) -> str:
            start.wait()
            return _delete(dataset_id)

        racing = [Thread(upload), Thread(delete)]
        for thread in racing:
            thread.start()
        uploaded, deleted = (thread.result() for thread in racing)
        assert deleted == "200"
        assert uploaded in {"200", "409 data-set-deleted", "404 not-found"}
        _nothing_left(dataset_id)


def test_a_delete_that_failed_midway_refuses_uploads_and_is_finished_when_sent_again(
    faults: Faults,
) -> None:
    from tidewater.domain.errors import Unavailable

    dataset_id = _new_dataset()
    assert _upload(dataset_id) == "200"
    faults.fail("DeleteItem", DatasetModel, times=None)
    with pytest.raises(Unavailable):
        _delete(dataset_id)
    assert _upload(dataset_id) == "409 data-set-deleted"
    with pytest.raises(Conflict):
        ingest.close_dataset(ALICE, dataset_id, repositories())
    faults.clear()
    assert _delete(dataset_id) == "200"
    _nothing_left(dataset_id)
