"""Errors as RFC 9457 problem details (`application/problem+json`) with a clear `detail`."""

from typing import Any

import rfc8785
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from auditreg.api.limits import BodyTooLarge, body_too_large
from auditreg.errors import Conflict, DomainError

PROBLEM = "application/problem+json"
# Its wording is ours, not the library's: the library's repeats the value, which may be huge.
NOT_CANONICAL = (
    "the request holds a value with no canonical JSON form (RFC 8785): a number such as 1e400 "
    "or an integer beyond 2^53 - 1, or a lone UTF-16 surrogate; nothing was recorded"
)


def problem_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's errors and the domain's refusals, as problem+json. A DomainError is a rule the
    request broke: 422 with the rule's reason (409 when it contradicts a recorded fact);
    nothing was changed."""
    if isinstance(exc, DomainError):
        refused = exceptions.ValidationError(str(exc))
        refused.status_code = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, Conflict)
            else status.HTTP_422_UNPROCESSABLE_ENTITY
        )
        exc = refused
    elif isinstance(exc, RequestDataTooBig):  # Django's check, as DRF reads request.body
        exc = BodyTooLarge(body_too_large())
    elif isinstance(exc, rfc8785.CanonicalizationError):
        # The parser refuses such bodies; this covers a value the request builds some other way.
        exc = exceptions.ValidationError(NOT_CANONICAL)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    detail = data.get("detail") if isinstance(data, dict) else None
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": response.status_text,
        "status": response.status_code,
        "detail": str(detail) if detail is not None else _flatten(data),
    }
    if detail is None and isinstance(data, dict):
        problem["errors"] = data
    response.data = problem
    response.content_type = PROBLEM
    return response


def _flatten(data: Any) -> str:
    if isinstance(data, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in data.items())
    if isinstance(data, list):
        return " ".join(_flatten(item) for item in data)
    return str(data)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL under /api/ that names nothing is a problem too, not an HTML page."""
    return problem_response(404, "Not Found", f"no API resource at {request.path}")


def server_error(request: HttpRequest) -> HttpResponse:
    """The API answers even its own failures as problem+json."""
    return problem_response(500, "Internal Server Error", "the server failed; nothing was recorded")


def problem_response(code: int, title: str, detail: str) -> HttpResponse:
    """A problem+json answer made outside DRF (URL resolution, middleware)."""
    problem = {"type": "about:blank", "title": title, "status": code, "detail": detail}
    return JsonResponse(problem, status=code, content_type=PROBLEM)
