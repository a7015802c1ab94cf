"""The site's error handlers: each face answers in its own form, the API with problem+json
(RFC 9457), the portal with a page in its layout."""

from django.http import HttpRequest, HttpResponse

from auditreg.api import errors as api
from portal import errors as portal


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404."""
    if _is_api(request):
        return api.not_found(request, exception)
    return portal.not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500."""
    if _is_api(request):
        return api.server_error(request)
    return portal.server_error(request)
