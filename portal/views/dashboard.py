"""The dashboard: what waits for me, the inventory's counts, the ledger's health."""

from django.http import HttpRequest, HttpResponse

from auditreg.accounts.models import Principal
from portal import dashboard
from portal.access import reader_required
from portal.pages import render_page


@reader_required
def home(request: HttpRequest, me: Principal) -> HttpResponse:
    context = {
        "board": dashboard.build(me),
        "horizons": dashboard.EXPIRY_HORIZONS,
        "shown": dashboard.SHOWN,
    }
    return render_page(request, me, "portal/dashboard.html", "home", context)
