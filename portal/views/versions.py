"""A model's page and a version's page."""

from django.http import HttpRequest, HttpResponse

from auditreg.accounts.models import Principal
from portal import versions
from portal.access import reader_required
from portal.pages import render_page
from portal.views import signoff


@reader_required
def model(request: HttpRequest, me: Principal, slug: str) -> HttpResponse:
    page = versions.model_page(slug, request.GET)
    return render_page(request, me, "portal/model.html", "models", page)


@reader_required
def version(request: HttpRequest, me: Principal, slug: str, number: int) -> HttpResponse:
    page = versions.version_page(slug, number, request.GET.get("diff", "").strip())
    page["actions"] = signoff.version_actions(me, page["record"])
    return render_page(request, me, "portal/version.html", "models", page)
