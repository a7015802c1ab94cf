"""What every portal page shares: the layout's context."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from auditreg.registry.models import Principal


def render_page(
    request: HttpRequest, me: Principal, template: str, section: str, context: dict[str, Any]
) -> HttpResponse:
    """Render a portal page with what the layout needs: the person, their roles, the section."""
    roles = sorted(role.replace("_", " ") for role in me.roles())
    return render(request, template, {"me": me, "roles": roles, "section": section, **context})
