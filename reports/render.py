"""Report content → HTML (Django templates under `templates/reports/pdf/`) → PDF/A-3b with
the evidence bundle embedded (WeasyPrint).

Rendering reaches nothing outside our own templates folder: the URL fetcher refuses every
other URL (no network, no file elsewhere on the host), and a refused fetch stops the
rendering rather than leaving a hole in the document.
"""

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.template.loader import render_to_string
from weasyprint.urls import URLFetcher

from reports.content import ReportContent, local_time

TEMPLATES = {
    "model-risk": "reports/pdf/model_risk.html",
    "clinical": "reports/pdf/clinical.html",
    "audit-extract": "reports/pdf/audit_extract.html",
}
KIND_LABELS = {
    "model-risk": "Model risk report · SR 11-7 / SR 26-2",
    "clinical": "Clinical validation report · 21 CFR Part 11",
    "audit-extract": "Ledger audit extract",
}
PURPOSES = {
    "model-risk": (
        "Model documentation for independent review under the supervisory guidance on model "
        "risk management (SR 11-7 / SR 26-2, OCC 2011-12 / 2026-13): identification, "
        "development and lineage, validation, approvals, authorized uses, ongoing monitoring "
        "and change history of one model version, as recorded in a tamper-evident ledger."
    ),
    "clinical": (
        "Clinical validation record of one model version for one intended use: population, "
        "validation data and its provenance, performance overall and per subgroup, the "
        "authorized use with its validated fallback, the changes since the previous authorized "
        "version (for a predetermined change control plan review) and the 21 CFR Part 11 "
        "electronic signatures."
    ),
    "audit-extract": (
        "Every ledger entry about the subject recorded in the period, in ledger order, with "
        "its hash: what an auditor samples and re-verifies against the signed checkpoint."
    ),
}
ISSUER = "auditreg"
PDF_DIR = Path(settings.BASE_DIR) / "templates" / "reports" / "pdf"
SHORT_HASH = 12  # hex digits of an entry hash printed beside its seq


def render_html(
    content: ReportContent,
    *,
    checkpoint: dict[str, Any],
    evidence: dict[str, list[dict[str, Any]]],
    report_id: str,
    requested_by: str,
    requested_at: datetime,
) -> str:
    """The report's HTML. `checkpoint` has tree_size, root, key_name and note; `evidence`
    maps each section to the entries it rests on ({seq, hash})."""
    outline = content.context["outline"]
    cited = {
        section: [
            {"seq": e["seq"], "hash": e["hash"], "short": str(e["hash"])[:SHORT_HASH]}
            for e in entries
        ]
        for section, entries in evidence.items()
    }
    context = {
        **content.context,
        "kind": content.kind,
        "kind_label": KIND_LABELS[content.kind],
        "purpose": PURPOSES[content.kind],
        "issuer": ISSUER,
        "title": content.title,
        "subject": content.subject,
        "heading": _heading(content),
        "sec": {item["slug"]: item for item in outline},
        "evidence": {item["slug"]: cited.get(item["slug"], []) for item in outline},
        "evidence_table": [
            {
                "number": item["number"],
                "title": item["title"],
                "count": len(cited.get(item["slug"], [])),
                "seqs": ", ".join(str(e["seq"]) for e in cited.get(item["slug"], [])) or "none",
            }
            for item in outline
        ],
        "checkpoint": {
            **checkpoint,
            "root_short": str(checkpoint["root"])[:SHORT_HASH] + "…",
        },
        "report": {
            "id": report_id,
            "requested_by": requested_by,
            "requested_at": local_time(requested_at.astimezone(UTC)),
            "requested_at_iso": requested_at.astimezone(UTC).isoformat(),
        },
        "attachment_name": "auditreg-evidence.json",
    }
    return render_to_string(TEMPLATES[content.kind], context)


def _heading(content: ReportContent) -> str:
    """The running header: model name and version, or the audited subject."""
    model = content.context.get("model")
    if model:
        return f"{model['name']} · {content.subject}"
    return content.subject


class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Serves `data:` URLs and files under our PDF templates folder; refuses the rest."""

    def __init__(self, root: Path = PDF_DIR) -> None:
        super().__init__(fail_on_errors=True, allowed_protocols={"data", "file"})
        self.root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(self.root):
                raise ValueError(f"reports may not read {url}")
        elif parts.scheme != "data":
            raise ValueError(f"reports may not fetch {url}: rendering is offline")
        return super().fetch(url, headers)


def html_to_pdf(
    html: str, *, attachment: bytes, attachment_name: str = "auditreg-evidence.json"
) -> bytes:
    """PDF/A-3b with `attachment` embedded as an associated file (AFRelationship /Data: the
    data the document's statements are derived from)."""
    fetcher = LocalOnlyFetcher()
    document = weasyprint.HTML(string=html, base_url=PDF_DIR.as_uri() + "/", url_fetcher=fetcher)
    evidence = weasyprint.Attachment(
        file_obj=io.BytesIO(attachment),
        name=attachment_name,
        description="auditreg evidence bundle: cited ledger entries, inclusion proofs, "
        "checkpoint and public keys",
        relationship="Data",
        url_fetcher=fetcher,
    )
    pdf: bytes = document.write_pdf(pdf_variant="pdf/a-3b", attachments=[evidence])
    return pdf
