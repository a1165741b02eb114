"""Streaming text to S3 without holding it: a gzip stream into a multipart upload, one part
in memory at most. Nothing here knows what is written (slices, exports)."""

from __future__ import annotations

import gzip
from typing import Any, Final

# S3's minimum part is 5 MiB (all but the last); a larger part means fewer requests, and the
# buffer of one part is all the memory an upload takes.
PART_BYTES: Final = 8 * 1024 * 1024
SSE: Final = "AES256"


def s3_client(region: str) -> Any:
    """An S3 client that signs presigned URLs with SigV4 (SigV2 is refused by S3 in newer
    regions). boto3 is imported here: only the functions that touch S3 pay for it."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", region_name=region, config=Config(signature_version="s3v4"))


class MultipartStream:
    """A write-only binary stream that is an S3 multipart upload: parts of PART_BYTES go
    out as they fill, so memory holds one part at most. No `name`: gzip then writes none."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        # SSE on every object; no Metadata, no Tagging: nothing but the bytes themselves.
        started = client.create_multipart_upload(
            Bucket=bucket, Key=key, ServerSideEncryption=SSE, ContentType=content_type
        )
        self.upload_id: str = started["UploadId"]
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self.version_id: str | None = None
        self.size = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.size += len(data)
        if len(self.buffer) >= PART_BYTES:
            self._send_part()
        return len(data)

    def flush(self) -> None:
        """gzip flushes its file at close; a part goes out only when full."""

    def _send_part(self) -> None:
        number = len(self.parts) + 1
        body, self.buffer = bytes(self.buffer), bytearray()  # one copy in memory while it goes
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                         PartNumber=number, Body=body)  # fmt: skip
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def complete(self) -> None:
        if self.buffer or not self.parts:
            self._send_part()  # the last part may be small (or empty, for an empty object)
        answer = self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )  # fmt: skip
        self.version_id = answer.get("VersionId")

    def abort(self) -> None:
        self.client.abort_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
        )


class GzipTextUpload:
    """`write(text)` into a gzip stream into a multipart upload. The gzip header carries no
    file name and a zero mtime: the time of the export would date the slice."""

    def __init__(self, stream: MultipartStream) -> None:
        self._stream = stream
        self._gzip = gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=6, mtime=0)

    def write(self, text: str) -> None:
        self._gzip.write(text.encode())

    def close(self) -> None:
        self._gzip.close()

    @property
    def version_id(self) -> str | None:
        return self._stream.version_id

    @property
    def compressed_bytes(self) -> int:
        return self._stream.size
