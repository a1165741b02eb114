"""Errors the services raise; `tidewater.api.errors` renders each one once, by type."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, pointing at the offending field of the body (a JSON
    Pointer), or, made with `Problem.query`, at the query parameter (`source.parameter`)."""

    pointer: str
    code: str
    title: str
    detail: str
    parameter: str | None = None

    @classmethod
    def query(cls, parameter: str, code: str, title: str, detail: str) -> Problem:
        return cls("", code, title, detail, parameter)


class TidewaterError(Exception):
    status = 500
    code = "internal-error"
    title = "internal error"

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code


class Unauthorized(TidewaterError):
    status, code, title = 401, "unauthorized", "authentication required"


class Forbidden(TidewaterError):
    status, code, title = 403, "forbidden", "not allowed"


class NotFound(TidewaterError):
    status, code, title = 404, "not-found", "not found"


class Conflict(TidewaterError):
    status, code, title = 409, "conflict", "conflict"


class PayloadTooLarge(TidewaterError):
    status, code, title = 413, "payload-too-large", "request too large"


class BadRequest(TidewaterError):
    """A malformed request outside the body: a query parameter, a cursor."""

    status, code, title = 400, "bad-request", "bad request"

    def __init__(self, detail: str = "", *, code: str | None = None, parameter: str = "") -> None:
        super().__init__(detail, code=code)
        self.parameter = parameter  # the query parameter at fault, if one is (source.parameter)


class Unavailable(TidewaterError):
    """The store kept refusing work (throttling): nothing was lost, the client may retry."""

    status, code, title = 503, "unavailable", "try again later"


@dataclass
class InvalidData(TidewaterError):
    """Every problem found in a request; nothing of it was stored."""

    errors: list[Problem] = field(default_factory=list)
    status = 400
    code = "invalid-data"
    title = "invalid data"

    def __post_init__(self) -> None:
        TidewaterError.__init__(self, f"{len(self.errors)} problem(s) in the request")
