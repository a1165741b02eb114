"""Reading a followed Nightscout site over HTTP, with the doors of a URL fetcher closed.

A function that fetches URLs its users give it can be made to reach what only it can reach
(server-side request forgery). So, for every request and every redirect:

- the host is resolved here and every address it resolves to must be allowed
  (domain/sources.py: public unicast only in AWS); the connection is then made to that
  address (so a second resolution cannot send it elsewhere: DNS rebinding), with the host's
  name for TLS (certificate checked) and for `Host`;
- a redirect may stay on the site (same scheme, host and port), at most `REDIRECTS` times;
- the answer must be 200, JSON by its `Content-Type`, at most `max_bytes` (refused as soon as
  it is known to be larger: by `Content-Length`, or while reading), and arrive within the
  deadline (each socket operation has `timeout`, the whole exchange `deadline`);
- the token is sent as Nightscout expects and appears in no error, log line or answer.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import tidewater
from tidewater.domain.sources import (
    Reach,
    Refused,
    SiteError,
    address_refusal,
    ip_literal,
    query_string,
    redirect_refusal,
)

REDIRECTS: Final = 3
USER_AGENT: Final = f"Tidewater/{tidewater.__version__} (Nightscout follower)"
JSON_TYPES: Final = ("application/json",)
_CHUNK: Final = 64 * 1024

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (TCP)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SiteError("the site's name was not found") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True)
class Fetcher:
    reach: Reach
    timeout: float = 5.0  # seconds, each connect or read
    deadline: float = 12.0  # seconds, the whole exchange, redirects included
    max_bytes: int = 4 * 1024 * 1024
    resolver: Resolver = resolve
    tls: ssl.SSLContext | None = None  # None: the system's trust store

    def get_json(self, url: str, query: list[tuple[str, str]], headers: dict[str, str]) -> Any:
        """The JSON document at `url?query`; Refused or SiteError, never the URL in either."""
        ends = time.monotonic() + self.deadline
        target = f"{url}?{query_string(query)}" if query else url
        for _ in range(REDIRECTS + 1):
            status, location, body = self._exchange(target, headers, ends)
            if location is None:
                break
            following = urljoin(target, location)
            redirect_refusal(target, following)
            target = following
        else:
            raise SiteError("the site redirected too many times")
        if status in (401, 403):
            raise SiteError(f"the site refused the token ({status}): it needs read access")
        if status != 200:
            raise SiteError(f"the site answered {status}")
        try:
            return json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise SiteError("the site's answer is not valid JSON") from None

    # ------------------------------------------------------------------ one request
    def _exchange(
        self, url: str, headers: dict[str, str], ends: float
    ) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        secure = parts.scheme == "https"
        if not secure and not (parts.scheme == "http" and self.reach.allow_http):
            raise Refused("only https sites can be followed")
        port = parts.port or (443 if secure else 80)
        address = self._address(host, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = _connection(secure, host, port, address, self._timeout(ends), self.tls)
        try:
            connection.request("GET", path, headers={
                "Accept": "application/json", "User-Agent": USER_AGENT,
                "Accept-Encoding": "identity", **headers,
            })  # fmt: skip
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise SiteError("the site redirected without saying where")
                return response.status, location, b""
            if response.status != 200:
                return response.status, None, b""
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            if content_type.lower() not in JSON_TYPES:
                raise SiteError("the site's answer is not JSON")
            return 200, None, self._read(response, connection.sock, ends)
        except TimeoutError:
            raise SiteError("the site did not answer in time") from None
        except ssl.SSLError:
            raise SiteError("the site's certificate could not be verified") from None
        except (OSError, http.client.HTTPException):
            raise SiteError("the site could not be reached") from None
        finally:
            connection.close()

    def _address(self, host: str, port: int) -> str:
        literal = ip_literal(host)
        addresses = [str(literal)] if literal is not None else self.resolver(host, port)
        if not addresses:
            raise SiteError("the site's name was not found")
        if not self.reach.allow_private:
            for address in addresses:  # one refused address refuses the name
                parsed = ip_literal(address)
                if parsed is None:
                    raise Refused("the site's address could not be checked")
                address_refusal(parsed)
        return addresses[0]

    def _timeout(self, ends: float) -> float:
        left = ends - time.monotonic()
        if left <= 0:
            raise SiteError("the site did not answer in time")
        return min(self.timeout, left)

    def _read(
        self, response: http.client.HTTPResponse, sock: socket.socket | None, ends: float
    ) -> bytes:
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise SiteError(f"the site's answer is larger than {self.max_bytes // 1024} KB")
        body = bytearray()
        while True:
            if sock is not None:  # each read within what is left of the deadline
                sock.settimeout(self._timeout(ends))
            chunk = response.read1(_CHUNK)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > self.max_bytes:
                raise SiteError(f"the site's answer is larger than {self.max_bytes // 1024} KB")


def _no_constant(name: str) -> Any:
    raise ValueError(name)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to `address`, speaking to `host` (its `Host` header)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to `address`, with `host`'s certificate checked and `host` as the server name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _connection(
    secure: bool, host: str, port: int, address: str, timeout: float, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    if secure:
        context = tls or ssl.create_default_context()
        return _PinnedHTTPSConnection(host, port, address, timeout, context)
    return _PinnedHTTPConnection(host, port, address, timeout)
