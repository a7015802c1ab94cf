"""The model inventory: search, filters, sortable columns, pages."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from auditreg.accounts.models import Principal
from auditreg.registry.domain import RiskTier, Stage
from portal import inventory
from portal.access import reader_required
from portal.pages import render_page


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
