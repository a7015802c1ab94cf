"""Requests refused before any view sees them."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from auditreg.api.errors import problem_response

NUL_REFUSED = "the URL, a header or a form field contains a NUL character (%00)"
FORM = "application/x-www-form-urlencoded"
# No text the API filters by is longer (lineage subjects are the longest, at 500); a longer
# value matches nothing, and SQLite refuses a LIKE pattern over 50,000 bytes outright.
MAX_QUERY_VALUE = 1000


class RefuseMalformedRequests:
    """A NUL character in a request's path, query, headers or form fields is a 400, for the
    API (problem+json) and the portal alike: PostgreSQL cannot compare or store text with
    one, so a lookup or a write with it would fail as a server error. So is an API query
    value longer than any text it could be compared with."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _url_or_headers_have_nul(request):
            return _refused(request, NUL_REFUSED)
        if request.path.startswith("/api/"):
            for name, values in request.GET.lists():
                if any(len(value) > MAX_QUERY_VALUE for value in values):
                    detail = f"the query parameter {name[:40]!r} is longer than {MAX_QUERY_VALUE}"
                    return _refused(request, f"{detail} characters, which nothing stored is")
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Form fields, once the view is known: a view exempt from CSRF may choose its own
        upload handlers (the report verification page bounds its upload), so its multipart
        body is left unread; any other POST body the CSRF check has read already."""
        if request.method != "POST":
            return None
        if getattr(view, "csrf_exempt", False) and request.content_type != FORM:
            return None
        if any(
            "\x00" in name or any("\x00" in value for value in values)
            for name, values in request.POST.lists()
        ):
            return _refused(request, NUL_REFUSED)
        return None


def _refused(request: HttpRequest, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(400, "Bad Request", detail)
    return HttpResponseBadRequest(
        f"Bad request: {detail}, which no page accepts.\n",
        content_type="text/plain; charset=utf-8",
    )


def _url_or_headers_have_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    headers = (value for name, value in request.META.items() if name.startswith("HTTP_"))
    return (
        "\x00" in request.path
        or "%00" in query
        or "\x00" in query
        or any(isinstance(value, str) and "\x00" in value for value in headers)
    )
