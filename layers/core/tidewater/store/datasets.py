"""Datasets: one item each, keyed by the dataset id (the datums' `uploadId`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

from pynamodb.exceptions import PutError, UpdateError

from tidewater.domain.datasets import CLOSED, DELETING, OPEN, Dataset
from tidewater.domain.errors import Conflict, NotFound, TidewaterError
from tidewater.store.batch import BatchWriter
from tidewater.store.conditions import condition_failed
from tidewater.store.models import DatasetModel
from tidewater.store.overload import unavailable_when_busy


def _not_deleting() -> Any:
    return DatasetModel.data_state.does_not_exist() | (DatasetModel.data_state != DELETING)


def _dataset(item: DatasetModel) -> Dataset:
    return Dataset(
        id=item.dataset_id,
        user_id=item.user_id,
        created_time=item.created_time,
        data_state=item.data_state or OPEN,
        fields=dict(item.body or {}),
    )


@unavailable_when_busy
class DatasetsRepository:
    def __init__(self, writer: BatchWriter | None = None) -> None:
        self.writer = writer or BatchWriter(DatasetModel)

    def create(self, dataset: Dataset) -> None:
        """A new dataset; Conflict if the (random) id is taken."""
        item = DatasetModel(
            dataset.id,
            user_id=dataset.user_id,
            created_time=dataset.created_time,
            data_state=dataset.data_state,
            body=dataset.fields,
        )
        try:
            item.save(condition=DatasetModel.dataset_id.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise Conflict("dataset id taken", code="id-taken") from None
            raise

    def get(self, dataset_id: str) -> Dataset | None:
        try:
            return _dataset(DatasetModel.get(dataset_id, consistent_read=True))
        except DatasetModel.DoesNotExist:
            return None

    def of_user(self, user_id: str, newest_first: bool = False) -> Iterator[Dataset]:
        """The user's datasets, oldest (or newest) first: a Query on the `byUser` index,
        page by page (a caller that stops early reads no further page)."""
        for item in DatasetModel.by_user.query(user_id, scan_index_forward=not newest_first):
            yield _dataset(item)

    def open_system(self, dataset: Dataset) -> Dataset:
        """Create or reopen a dataset the server keeps for its owner (legacy, Nightscout),
        in one UpdateItem: its creation time and fields stay those of its first use.
        Conflict `data-set-deleted` while a delete of it is under way."""
        item = DatasetModel(dataset.id)
        try:
            item.update(
                actions=[
                    DatasetModel.user_id.set(dataset.user_id),
                    DatasetModel.created_time.set(DatasetModel.created_time | dataset.created_time),
                    DatasetModel.data_state.set(OPEN),
                    DatasetModel.body.set(DatasetModel.body | dataset.fields),
                ],
                condition=DatasetModel.dataset_id.does_not_exist()
                | ((DatasetModel.user_id == dataset.user_id) & _not_deleting()),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            # Another user's id: never, short of a collision.
            self._refused(dataset.id, Conflict("dataset id taken", code="id-taken"))
        return _dataset(item)

    def close(self, dataset_id: str) -> Dataset:
        """Close the dataset; NotFound if there is none, Conflict while it is being deleted."""
        item = DatasetModel(dataset_id)
        try:
            item.update(
                actions=[DatasetModel.data_state.set(CLOSED)],
                condition=DatasetModel.dataset_id.exists() & _not_deleting(),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            self._refused(dataset_id, NotFound("no such dataset"))
        return _dataset(item)

    def start_deleting(self, dataset_id: str) -> None:
        """Mark the dataset `deleting` (NotFound if there is none): from this write on,
        uploads to it are refused, and an upload that checked before cleans up after itself."""
        try:
            DatasetModel(dataset_id).update(
                actions=[DatasetModel.data_state.set(DELETING)],
                condition=DatasetModel.dataset_id.exists(),
            )
        except UpdateError as error:
            if condition_failed(error):
                raise NotFound("no such dataset") from None
            raise

    def _refused(self, dataset_id: str, otherwise: TidewaterError) -> NoReturn:
        """A conditional update of the dataset failed: Conflict `data-set-deleted` if it is
        being deleted, NotFound if it is gone, else `otherwise`."""
        found = self.get(dataset_id)
        if found is None:
            raise NotFound("no such dataset") from None
        if found.deleting:
            raise Conflict("the dataset is being deleted", code="data-set-deleted") from None
        raise otherwise from None

    def delete(self, dataset_id: str) -> None:
        DatasetModel(dataset_id).delete()

    def delete_user(self, user_id: str) -> int:
        """Delete every dataset of the user (found on `byUser`, deleted in batches)."""
        found = [item.dataset_id for item in DatasetModel.by_user.query(user_id)]
        self.writer.save_and_delete(deletes=[DatasetModel(dataset_id) for dataset_id in found])
        return len(found)
