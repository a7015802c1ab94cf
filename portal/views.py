"""The portal's pages. Every page goes through `reader_required`."""

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from auditreg.registry.domain import RiskTier, Stage
from auditreg.registry.models import Principal
from portal import dashboard, inventory, signoff, versions
from portal.access import reader_required


def render_page(
    request: HttpRequest, me: Principal, template: str, section: str, context: dict[str, Any]
) -> HttpResponse:
    """Render a portal page with what the layout needs: the person, their roles, the section."""
    roles = sorted(role.replace("_", " ") for role in me.roles())
    return render(request, template, {"me": me, "roles": roles, "section": section, **context})


@reader_required
def home(request: HttpRequest, me: Principal) -> HttpResponse:
    context = {
        "board": dashboard.build(me),
        "horizons": dashboard.EXPIRY_HORIZONS,
        "shown": dashboard.SHOWN,
        "shown_slice": f":{dashboard.SHOWN}",
    }
    return render_page(request, me, "portal/dashboard.html", "home", context)


@reader_required
def models(request: HttpRequest, me: Principal) -> HttpResponse:
    query = inventory.Query.from_params(request.GET)
    page = Paginator(inventory.search(query), inventory.PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("sort", None)
    return render_page(
        request,
        me,
        "portal/models.html",
        "models",
        {
            "query": query,
            "page": page,
            "choices": inventory.choices(),
            "tiers": [tier.value for tier in RiskTier],
            "stages": [stage.value for stage in Stage],
            "columns": _columns(query),
            "filters": params.urlencode(),
            "page_params": _without_page(request),
        },
    )


def _columns(query: inventory.Query) -> list[dict[str, str]]:
    """Each sortable column's heading, the sort its link asks for and its aria-sort state."""
    headings = {
        "name": "Name",
        "slug": "Slug",
        "owner": "Owner",
        "domain": "Domain",
        "risk_tier": "Risk tier",
        "versions": "Versions",
        "registered": "Registered",
    }
    columns = []
    for key, heading in headings.items():
        current = query.column == key
        ascending = current and not query.descending
        columns.append(
            {
                "key": key,
                "heading": heading,
                "sort": f"-{key}" if ascending else key,
                "aria_sort": ("ascending" if ascending else "descending") if current else "none",
            }
        )
    return columns


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@reader_required
def model(request: HttpRequest, me: Principal, slug: str) -> HttpResponse:
    return render_page(request, me, "portal/model.html", "models", versions.model_page(slug))


@reader_required
def version(request: HttpRequest, me: Principal, slug: str, number: int) -> HttpResponse:
    page = versions.version_page(slug, number, request.GET.get("diff", "").strip())
    page["actions"] = signoff.version_actions(me, page["record"])
    return render_page(request, me, "portal/version.html", "models", page)
