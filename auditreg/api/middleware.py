"""Requests the API refuses before any view sees them."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from auditreg.api.errors import problem_response


def refuse_nul_characters(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A NUL character in an API request's path, query or headers is a 400: PostgreSQL cannot
    compare text with one, so a lookup by it would fail as a server error."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and _has_nul(request):
            return problem_response(
                400, "Bad Request", "the URL or a header contains a NUL character (%00)"
            )
        return get_response(request)

    return middleware


def _has_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    headers = (value for name, value in request.META.items() if name.startswith("HTTP_"))
    return (
        "\x00" in request.path
        or "%00" in query
        or "\x00" in query
        or any(isinstance(value, str) and "\x00" in value for value in headers)
    )
