"""Request bodies: refused when too large before they are parsed, then parsed as JSON."""

from __future__ import annotations

import base64
import json
from typing import Any, Final

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from tidewater.domain.errors import PayloadTooLarge

# Lambda's synchronous payload limit (API Gateway's own is 10 MB).
MAX_BODY_BYTES: Final = 6 * 1024 * 1024


def json_body(app: APIGatewayHttpResolver, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request body as JSON (None when empty); 413 above `max_bytes`, and a bad JSON
    body is the error handlers' 400."""
    event = app.current_event
    raw = event.body or ""
    if event.is_base64_encoded:
        if len(raw) * 3 // 4 > max_bytes + 2:
            raise PayloadTooLarge(f"the body is larger than {max_bytes // (1024 * 1024)} MB")
        data: bytes | str = base64.b64decode(raw)
    else:
        # Characters are never more than bytes in UTF-8: measure in bytes only when needed.
        data = raw.encode() if len(raw) * 4 > max_bytes else raw
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes // (1024 * 1024)} MB")
    if not data:
        return None
    return json.loads(data)
