"""Personal data exports (GET /v1/users/{userId}/export): archives in the exports bucket.

An archive is streamed into a multipart upload (the donation export's writer: one 8 MiB part
in memory at most), kept for a day (the bucket's lifecycle rule) and handed out as a
presigned GET URL of 15 minutes. Keys are random: they name neither the user nor a date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

from tidewater.store import keys
from tidewater.store.donations import PRESIGN_SECONDS
from tidewater.store.overload import unavailable_when_busy
from tidewater.store.s3_stream import MultipartStream, s3_client


@unavailable_when_busy
class ExportsBucket:
    link_seconds = PRESIGN_SECONDS

    def __init__(self, bucket: str, region: str) -> None:
        self.bucket = bucket
        self.region = region
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.region)
        return self._client

    @contextmanager
    def upload(self, export_id: str, extension: str, content_type: str) -> Iterator[BinaryIO]:
        """A write-only binary stream into `exports/<id>.<extension>`: completed on a normal
        exit, aborted (nothing left behind) on an exception."""
        stream = MultipartStream(
            self.client, self.bucket, keys.export_object(export_id, extension), content_type
        )
        try:
            yield cast(BinaryIO, stream)
            stream.complete()
        except BaseException:
            stream.abort()
            raise

    def presigned_get(self, export_id: str, extension: str, filename: str, seconds: int) -> str:
        """A download URL; the browser saves it as `filename` (no user id or name in it)."""
        params = {
            "Bucket": self.bucket,
            "Key": keys.export_object(export_id, extension),
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        }
        url: str = self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=seconds)  # fmt: skip
        return url
