"""Domain errors with stable machine codes and Chinese messages.

Service code raises these; the web layer turns them into ``application/problem+json`` (RFC 9457) and
the CLI into a message on stderr with a non-zero exit. Codes are stable API: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    #: Dotted path of the input field, e.g. ``uscc`` or ``co_owners.1.name``.
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    """Base of every expected, user-facing error."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, errors: list[FieldError] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors or []


class ValidationFailed(DomainError):
    """Input does not satisfy the rules; ``errors`` lists every problem at once, per field."""

    status = 422
    code = "validation_failed"

    def __init__(self, errors: list[FieldError], detail: str = "提交的信息有误，请按提示修改。"):
        super().__init__(detail, errors=errors)

    @classmethod
    def single(cls, field: str, code: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, code, message)], detail=message)


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with current state: duplicates, stale versions, illegal transitions."""

    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(DomainError):
    """A step the request depends on cannot be completed now; the same request may be repeated later."""

    status = 503
    code = "service_unavailable"
