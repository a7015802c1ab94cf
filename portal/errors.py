"""The portal's error pages (auditreg.handlers sends the API's errors to the API)."""

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from auditreg.registry import rules
from portal.access import person_for


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an HTML page in the portal's layout, with its navigation for a reader.

    It names no data, so it needs no role; the navigation shows only to those who hold one.
    """
    user = getattr(request, "user", None)
    me = person_for(request) if user is not None and user.is_authenticated else None
    roles = rules.roles_words(me.roles()) if me else []
    context = {"me": me, "roles": roles, "section": "", "path": request.path}
    return render(request, "portal/404.html", context, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the portal's layout with no detail of the failure and no data.

    Rendered without the request: context processors, the session and the person's roles
    need the database, which may be what failed.
    """
    context: dict[str, object] = {"me": None, "roles": [], "section": ""}
    return HttpResponseServerError(loader.get_template("portal/500.html").render(context))
