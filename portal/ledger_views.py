"""The ledger explorer's pages: entries, checkpoints, and one entry with its proof."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from auditreg.ledger.models import Entry
from auditreg.registry.models import Principal
from portal import ledger
from portal.access import reader_required
from portal.views import render_page


@reader_required
def entries(request: HttpRequest, me: Principal) -> HttpResponse:
    query = ledger.Query.from_params(request.GET)
    found = ledger.page(query)
    params = request.GET.copy()
    params.pop("before", None)
    return render_page(
        request,
        me,
        "portal/ledger.html",
        "ledger",
        {
            "query": query,
            "page": found,
            "filtered": bool(params),
            "filters": params.urlencode(),
            "checkpoints": ledger.checkpoints(),
        },
    )


@reader_required
def entry(request: HttpRequest, me: Principal, seq: int) -> HttpResponse:
    examined = ledger.examine(get_object_or_404(Entry, seq=seq))
    return render_page(request, me, "portal/ledger_entry.html", "ledger", {"examined": examined})
