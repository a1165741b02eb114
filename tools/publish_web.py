"""`make publish-web STACK=<name>`: web/'s files into the stack's WebBucket (the template's
CloudFront distribution serves them), each with its content type."""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path

import boto3

WEB = Path(__file__).resolve().parent.parent / "web"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", required=True)
    args = parser.parse_args()
    outputs = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
    bucket = next(o["OutputValue"] for o in outputs["Outputs"] if o["OutputKey"] == "WebBucketName")
    s3 = boto3.client("s3")
    for path in sorted(p for p in WEB.rglob("*") if p.is_file()):
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        key = path.relative_to(WEB).as_posix()
        s3.upload_file(
            str(path), bucket, key, ExtraArgs={"ContentType": kind, "CacheControl": "no-cache"}
        )
        print(key)


if __name__ == "__main__":
    main()
