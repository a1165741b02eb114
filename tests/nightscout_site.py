"""Nightscout sites for the tests and the bench: a small standard-library server on loopback
that answers the v1 entries API as Nightscout does, many sites side by side under
`/<name>/api/v1/entries.json`.

As Nightscout: newest first; `count` (10 unless given); `find[date][$gt|$gte|$lt|$lte]`;
the `token` query parameter or the `api-secret` header (the SHA-1 hex of the API secret),
401 otherwise. And the ways a site can go wrong: slow, 500, a redirect (to another host or
within the site), an endless answer, an answer that is not JSON.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MGDL_STEP_MS = 5 * 60 * 1000


@dataclass
class Site:
    entries: list[dict[str, Any]] = field(default_factory=list)
    api_secret: str | None = None
    token: str | None = None
    behaviour: str = "normal"  # slow, error, redirect-away, redirect-within, huge, html
    delay: float = 0.0  # seconds, for "slow"
    requests: list[dict[str, str]] = field(default_factory=list)

    def allowed(self, query: dict[str, str], headers: Any) -> bool:
        if self.api_secret is None and self.token is None:
            return True
        if self.token is not None and query.get("token") == self.token:
            return True
        if self.api_secret is not None:
            digest = hashlib.sha1(self.api_secret.encode()).hexdigest()
            return str(headers.get("api-secret", "")).lower() == digest
        return False

    def answer(self, query: dict[str, str]) -> list[dict[str, Any]]:
        low, high = -1, 2**63
        for name, value in query.items():
            if name == "find[date][$gt]":
                low = max(low, int(value))
            elif name == "find[date][$gte]":
                low = max(low, int(value) - 1)
            elif name == "find[date][$lt]":
                high = min(high, int(value))
            elif name == "find[date][$lte]":
                high = min(high, int(value) + 1)
        count = int(query.get("count", "10"))
        found = [e for e in self.entries if low < int(e["date"]) < high]
        found.sort(key=lambda e: int(e["date"]), reverse=True)
        return found[:count]


def sgv_entries(
    end_ms: int, count: int, device: str = "xDrip-DexcomG6", start_mgdl: int = 110
) -> list[dict[str, Any]]:
    """`count` sgv entries 5 minutes apart, the newest at `end_ms`, as xDrip+ uploads them."""
    out = []
    for i in range(count):
        date = end_ms - i * MGDL_STEP_MS
        out.append({
            "_id": f"{date:024x}", "type": "sgv", "date": date,
            "dateString": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(date / 1000)),
            "sgv": start_mgdl + (i * 7) % 90, "direction": "Flat", "noise": 1,
            "device": device, "filtered": 0, "unfiltered": 0, "rssi": 100,
        })  # fmt: skip
    return out


class NightscoutSites:
    """The server and its sites; `url(name)` is a site's address."""

    def __init__(self) -> None:
        self.sites: dict[str, Site] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, name: str, site: Site | None = None) -> Site:
        self.sites[name] = site or Site()
        return self.sites[name]

    def url(self, name: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{name}"

    def start(self) -> NightscoutSites:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def nightscout_sites() -> Iterator[NightscoutSites]:
    sites = NightscoutSites().start()
    try:
        yield sites
    finally:
        sites.stop()


def _handler(owner: NightscoutSites) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            name, _, rest = parts.path.lstrip("/").partition("/")
            site = owner.sites.get(name)
            query = dict(parse_qsl(parts.query))
            if site is None or rest not in ("api/v1/entries.json", "api/v1/entries", "moved"):
                return self._send(404, {"status": 404, "message": "not found"})
            site.requests.append(query)
            if rest == "moved":  # where "redirect-within" sends the poller
                rest = "api/v1/entries.json"
            elif site.behaviour == "redirect-away":
                return self._redirect(f"http://localhost:{owner.port}{self.path}")
            elif site.behaviour == "redirect-within":
                return self._redirect(f"/{name}/moved?{parts.query}")
            if site.behaviour == "slow":
                time.sleep(site.delay)
            if site.behaviour == "error":
                return self._send(500, {"status": 500, "message": "Mongo is down"})
            if not site.allowed(query, self.headers):
                return self._send(401, {"status": 401, "message": "Unauthorized"})
            if site.behaviour == "html":
                return self._raw(200, b"<html><body>Nightscout</body></html>", "text/html")
            if site.behaviour == "huge":
                return self._endless()
            return self._send(200, site.answer(query))

        def _send(self, status: int, document: Any) -> None:
            self._raw(status, json.dumps(document).encode(), "application/json; charset=utf-8")

        def _raw(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _endless(self) -> None:
            """50 MB of entries, with no length given (the reader must stop on its own)."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = (json.dumps(sgv_entries(0, 100))[1:-1] + ",").encode()
            sent = 0
            try:
                self.wfile.write(b"[")
                while sent < 50 * 1024 * 1024:
                    self.wfile.write(chunk)
                    sent += len(chunk)
                self.wfile.write(b"{}]")
            except OSError:
                pass  # the reader hung up, as it should
            self.close_connection = True

    return Handler
