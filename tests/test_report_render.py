"""Report content and rendering: each kind gathered for the sample history, rendered to
PDF/A-3b with an evidence attachment, and read back as a reader's PDF software would."""

import io
import re
from datetime import timedelta
from typing import Any

import pypdf
import pytest
from django.core.management import call_command
from weasyprint.urls import FatalURLFetchingError

from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger.models import Checkpoint, Entry
from auditreg.registry.models import ModelVersion, Signature
from auditreg.registry.services import monitoring
from reports import figures
from reports.content import ReportContent, gather
from reports.render import html_to_pdf, render_html

EVIDENCE = b'{"format": "auditreg-evidence", "entries": [], "note": "test bytes \x00\xff"}'


@pytest.fixture
def sample(clock, db):
    """The demo's sample history (credit-pd and stroke-lvo), then a signed checkpoint."""
    call_command("seed_demo", stdout=io.StringIO())
    call_command("checkpoint", stdout=io.StringIO())
    return clock


def render(content: ReportContent) -> bytes:
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    assert checkpoint is not None
    hashes = dict(
        (seq, bytes(digest).hex()) for seq, digest in Entry.objects.values_list("seq", "hash")
    )
    html = render_html(
        content,
        checkpoint={
            "tree_size": checkpoint.tree_size,
            "root": checkpoint.root_hex,
            "key_name": checkpoint.key_name,
            "note": checkpoint.note,
        },
        evidence={
            section: [{"seq": seq, "hash": hashes[seq]} for seq in seqs]
            for section, seqs in content.sections.items()
        },
        report_id="0b7f5a1e-4d2c-4f55-9a51-3c1e2d4b6a70",
        requested_by="Olga Auditor (user:olga)",
        requested_at=checkpoint.created_at,
    )
    return html_to_pdf(html, attachment=EVIDENCE)


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def compact(text: str) -> str:
    """Digests wrap inside table cells; compare them without the line breaks."""
    return re.sub(r"\s+", "", text)


def test_model_risk_report_names_the_version_its_digest_signers_and_use_cases(sample):
    version = ModelVersion.objects.get(subject="model:credit-pd/2")
    content = gather("model-risk", subject=version.subject)
    text = text_of(render(content))
    flat = compact(text)

    assert "model:credit-pd/2" in flat
    assert version.artifact_digest in flat
    assert version.package_digest in flat
    signers = set(Signature.objects.filter(subject=version.subject).values_list("printed_name"))
    assert {name for (name,) in signers} == {
        "Dana Developer",
        "Victor Validator",
        "Alice Approver",
        "Marc Riskcommittee",
    }
    for (name,) in signers:
        assert name in text
    assert "US retail credit PD scoring" in text  # authorized for it, and fallback of version 3
    assert "authorization:us-retail-credit-pd/1" in flat
    assert "authorization:us-retail-credit-pd/2" in flat
    assert "dataset:bureau-tradelines@2026-06-30" in flat  # raw data, through derived data
    size = Checkpoint.objects.order_by("-tree_size").first().tree_size  # type: ignore[union-attr]
    assert f"tree size {size}" in text
    assert "EDT (UTC-04:00)" in text or "EST (UTC-05:00)" in text  # signer's zone and offset
    for title in ("Contents", "Model identification and inventory", "Ongoing monitoring"):
        assert title in text
    assert re.search(r"Page 3 of \d+", text)


def test_model_risk_sections_rest_on_the_entries_that_recorded_the_facts(sample):
    version = ModelVersion.objects.get(subject="model:credit-pd/3")
    sections = gather("model-risk", subject=version.subject).sections

    def seqs(**filters: str) -> set[int]:
        return set(Entry.objects.filter(**filters).values_list("seq", flat=True))

    registered = seqs(kind="version.registered", subject=version.subject)
    assert registered <= set(sections["identification"])
    assert seqs(kind="signature.signed", subject=version.subject) <= set(sections["approvals"])
    assert seqs(kind="monitoring.recorded", subject=version.subject) <= set(sections["monitoring"])
    assert seqs(kind="stage.changed", subject=version.subject) <= set(sections["changes"])
    authorization = "authorization:us-retail-credit-pd/2"
    assert seqs(subject=authorization) <= set(sections["authorizations"])
    upstream = seqs(subject="dataset:bureau-tradelines@2026-06-30", kind="snapshot.recorded")
    assert upstream <= set(sections["development"])
    assert seqs(kind="run.recorded", subject="run:credit-pd/2026-03-a91f") <= set(
        sections["development"]
    )
    assert all(s == sorted(set(s)) for s in sections.values())


def test_clinical_report_shows_use_fallback_subgroups_and_changes(sample):
    version = ModelVersion.objects.get(subject="model:stroke-lvo/2")
    content = gather("clinical", subject=version.subject, use_case="lvo-triage-cta-adults")
    text = text_of(render(content))
    flat = compact(text)

    assert version.artifact_digest in flat
    assert "LVO stroke triage on CTA, adults" in text
    assert "Adults (18+) with CT angiography" in text
    for name in ("Devi Neuroimaging", "Vera Clinical-Validator", "Quinn Quality"):
        assert name in text
    assert "model:stroke-lvo/1" in flat  # the validated fallback and the previous version
    assert content.context["previous"] == "model:stroke-lvo/1"
    assert {"site-a", "site-b"} <= set(content.context["monitoring"]["segments"])
    assert "site-a" in text and "site-b" in text
    assert "dataset:cta-validation@2026-03" in flat
    metric = [m for m in content.context["diff"]["mappings"] if m["what"] == "metric sensitivity"]
    assert metric == [{"what": "metric sensitivity", "before": "0.92", "after": "0.94"}]


def test_audit_extract_lists_every_entry_about_the_subject_in_the_period(sample):
    seeded_at = sample.now
    sample.advance(days=2)
    trainer = Principal.objects.get(actor_id="service:trainer")
    v2 = ModelVersion.objects.get(subject="model:credit-pd/2")
    day = sample.now.date()
    later = monitoring.record_monitoring(
        version=v2, metric="psi", value="0.08", window_start=day, window_end=day, by=trainer
    )
    period = (seeded_at - timedelta(hours=1), seeded_at + timedelta(hours=1))

    content = gather("audit-extract", subject="model:credit-pd", period=period)
    flat = compact(text_of(render(content)))

    expected = Entry.objects.filter(
        subject__startswith="model:credit-pd", recorded_at__lt=period[1]
    )
    assert content.sections["entries"] == sorted(expected.values_list("seq", flat=True))
    assert later.seq not in content.sections["entries"]
    for entry in expected:
        assert entry.hash_hex in flat
    assert "PSI0.31abovethe0.25threshold" in flat  # a payload summarised in words


def test_the_pdf_is_pdf_a_3b_with_the_evidence_attached_byte_for_byte(sample):
    pdf = render(gather("model-risk", subject="model:stroke-lvo/1"))
    reader = pypdf.PdfReader(io.BytesIO(pdf))

    assert reader.attachments["auditreg-evidence.json"] == [EVIDENCE]
    root: Any = reader.trailer["/Root"]
    relationships = {spec.get_object()["/AFRelationship"] for spec in root["/AF"]}
    assert relationships == {"/Data"}  # PDF/A-3 associated file
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part(="|>)3', xmp)
    assert re.search(r'pdfaid:conformance(="|>)B', xmp)


@pytest.mark.parametrize(
    ("kind", "subject", "use_case", "match"),
    [
        ("model-risk", "model:credit-pd/9", None, "not a registered model version"),
        ("model-risk", "usecase:us-retail-credit-pd", None, "not a registered model version"),
        ("clinical", "model:stroke-lvo/2", None, "needs the use case it validates"),
        ("clinical", "model:stroke-lvo/2", "no-such-use", "needs the use case it validates"),
        ("clinical", "model:stroke-lvo/2", "us-retail-credit-pd", "not one of stroke-lvo's"),
        ("audit-extract", "model:credit-pd", None, "needs a period"),
        ("annual-report", "model:credit-pd/2", None, "report kind 'annual-report' is not one of"),
    ],
)
def test_an_unknown_subject_or_kind_is_refused_clearly(sample, kind, subject, use_case, match):
    with pytest.raises(DomainError, match=match):
        gather(kind, subject=subject, use_case=use_case)


def test_an_audit_extract_needs_a_known_subject_and_an_ordered_period(sample):
    now = sample.now
    with pytest.raises(DomainError, match="holds no entry about model:nothing"):
        gather("audit-extract", subject="model:nothing", period=(now, now + timedelta(days=1)))
    with pytest.raises(DomainError, match="a start before its end"):
        gather("audit-extract", subject="model:credit-pd", period=(now, now))
    with pytest.raises(DomainError, match="must carry a time zone"):
        naive = now.replace(tzinfo=None)
        gather("audit-extract", subject="model:credit-pd", period=(naive, naive + timedelta(1)))


def test_rendering_fetches_nothing_from_the_network():
    html = '<html><body><p>x</p><img src="http://198.51.100.7/pixel.png"></body></html>'
    with pytest.raises(FatalURLFetchingError, match=r"198\.51\.100\.7"):
        html_to_pdf(html, attachment=b"{}")


def test_the_lineage_figure_stays_readable_with_hundreds_of_nodes():
    nodes = [figures.GraphNode("model:m/1", "version", "m v1", 0)]
    edges = []
    for n in range(240):
        depth = 1 + n % 12
        subject = f"dataset:d{n}@<2026>&"
        nodes.append(figures.GraphNode(subject, "snapshot", subject, depth))
        edges.append((subject, "model:m/1"))
    svg = figures.lineage_svg(nodes, edges)

    boxes = svg.count("<rect")
    assert boxes <= figures.MAX_LAYERS * (figures.MAX_PER_LAYER + 1)
    assert "120 MORE (AND DEEPER)" in svg  # deeper layers are counted, not drawn
    assert "snapshot" in svg and "<2026>" not in svg and "&lt;2026&gt;" in svg


def test_a_monitoring_chart_draws_thresholds_and_marks_breaches():
    points = [
        figures.Point("2026-01", "all", "0.07", False),
        figures.Point("2026-02", "all", "0.31", True),
    ]
    svg = figures.monitoring_svg("psi <drift>", points, [figures.Bound("upper 0.25", "0.25")])

    assert "stroke-dasharray" in svg  # the threshold line
    assert "breach 0.31" in svg
    assert "psi &lt;drift&gt;" in svg
