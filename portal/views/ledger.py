"""The ledger explorer's pages: entries, checkpoints, one entry with its proof, verification
runs, the export for auditors, and the lineage node pages the version graph links to."""

from typing import cast

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger import export as ledger_export
from auditreg.ledger import verification
from auditreg.ledger.models import Entry
from portal import ledger, versions
from portal.access import reader_required
from portal.pages import render_page


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
            "runs": verification.recent_runs(),
        },
    )


@reader_required
def entry(request: HttpRequest, me: Principal, seq: int) -> HttpResponse:
    examined = ledger.examine(get_object_or_404(Entry, seq=seq))
    return render_page(request, me, "portal/ledger_entry.html", "ledger", {"examined": examined})


@require_POST
@reader_required
def verify(request: HttpRequest, me: Principal) -> HttpResponse:
    """Queue a whole-ledger verification. Any reader may: it checks history, changes none."""
    # Imported here: the task module imports Celery's app, which a page view need not load.
    from auditreg.ledger.tasks import verify_ledger_run

    try:
        run = verification.start_verification(by=me.actor_id, name=me.printed_name)
    except DomainError as refusal:
        messages.error(request, str(refusal))
    else:
        transaction.on_commit(lambda: verify_ledger_run.delay(run.pk))
        messages.success(
            request,
            "Verification started. Its result is listed under Verification runs when it ends; "
            "reload this page to see it.",
        )
    return redirect(reverse("portal:ledger") + "#runs-heading")


@require_GET
@reader_required
def export(request: HttpRequest, me: Principal) -> HttpResponse:
    """The whole ledger as JSON Lines, for `auditreg verify <file>` offline. Streamed."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        ledger_export.export_chunks(), content_type="application/jsonl"
    )
    response["Content-Disposition"] = f'attachment; filename="ledger-export-{stamp}.jsonl"'
    # `reader_required` is typed for HttpResponse; a streaming answer is as good to Django.
    return cast(HttpResponse, response)


@reader_required
def lineage_node(request: HttpRequest, me: Principal, subject: str) -> HttpResponse:
    page = versions.lineage_node_page(subject)
    return render_page(request, me, "portal/ledger_lineage_node.html", "models", page)
