"""Response headers for every page, and sessions that only people's own requests renew."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

# Only our own origin: every script, style sheet, font and image is served by us. Inline
# scripts and style attributes are refused, so an injected fragment cannot run.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# drf-spectacular's Swagger UI page starts itself with an inline script.
EXEMPT = ("/api/docs/",)


def content_security_policy(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not request.path.startswith(EXEMPT):
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

    return middleware


class Sessions(SessionMiddleware):
    """Django's sessions, renewed by every request a person makes (SESSION_SAVE_EVERY_REQUEST)
    but not by a page's own background polling (`@leaves_session_idle`): a report page left
    open must not keep an unattended session alive for ever."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if getattr(request, "leaves_session_idle", False) and not request.session.modified:
            return response
        return super().process_response(request, response)


def leaves_session_idle(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view that a page calls by itself, on a timer: it does not count as activity."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.leaves_session_idle = True  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped
