"""The portal's error pages; URLs under /api/ keep their problem+json answers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from auditreg.api import errors as api_errors
from portal.access import person_for


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an HTML page in the portal's layout, with its navigation for a reader.

    It names no data, so it needs no role; the navigation shows only to those who hold one.
    """
    if request.path.startswith("/api/"):
        return api_errors.not_found(request, exception)
    user = getattr(request, "user", None)
    me = person_for(request) if user is not None and user.is_authenticated else None
    roles = sorted(role.replace("_", " ") for role in me.roles()) if me else []
    context = {"me": me, "roles": roles, "section": "", "path": request.path}
    return render(request, "portal/404.html", context, status=404)
