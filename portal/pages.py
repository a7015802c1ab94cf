"""What every portal page shares: the layout's context."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from auditreg.accounts.models import Principal
from auditreg.registry import rules


def render_page(
    request: HttpRequest, me: Principal, template: str, section: str, context: dict[str, Any]
) -> HttpResponse:
    """Render a portal page with what the layout needs: the person, their roles, the section."""
    roles = rules.roles_words(me.roles())
    return render(request, template, {"me": me, "roles": roles, "section": section, **context})
