"""The HTTP policy shared by every portal page: signed in, enrolled, holding a role."""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from auditreg.accounts.models import Principal
from auditreg.accounts.services import READERS

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, Principal, P], HttpResponse]


def person_for(request: HttpRequest) -> Principal | None:
    """The signed-in person's active registry principal holding a reader role, if any."""
    principal = Principal.objects.filter(
        actor_id=f"user:{request.user.get_username()}", kind="person", active=True
    ).first()
    if principal is None or not principal.roles() & {role.value for role in READERS}:
        return None
    return principal


def reader_required(view: View[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Sign-in, then a registry role; the view gets the principal and renders its dates in
    the person's own time zone."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        me = person_for(request)
        if me is None:
            return render(request, "portal/no_role.html", status=403)
        with timezone.override(ZoneInfo(me.time_zone)):
            return view(request, me, *args, **kwargs)

    return wrapper
