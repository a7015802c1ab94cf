"""A report in a real browser: requested through the form by its labels, its page follows
the worker's progress without being reloaded, and the signed PDF it offers verifies."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.db import connections
from playwright.sync_api import Page, expect

from reports import services
from reports.models import ReportRequest
from tests.browser.conftest import assert_every_field_labelled, sign_in
from tests.factories import approve, make_model, make_version


def produce_elsewhere(report_id: str) -> None:
    """Produce the report in another thread, as a worker would: pyHanko signs with its own
    event loop, which cannot start in this thread, where Playwright's loop runs."""

    def work() -> None:
        try:
            services.produce(report_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def test_the_report_page_follows_the_work_and_offers_the_signed_pdf(
    people, signing_dir, page: Page, tmp_path: Path
):
    version = approve(people, make_version(people, make_model(people)))
    sign_in(page, "olga")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Request a report").click()
    assert_every_field_labelled(page)
    page.get_by_label("Kind of report").select_option("model-risk")
    page.get_by_label("Subject").fill(version.subject)
    page.get_by_role("button", name="Request the report").click()

    status = page.locator("#report-status")
    expect(status).to_contain_text("Queued: waiting for a worker")
    expect(status.get_by_role("link", name="Download the signed PDF")).to_be_hidden()
    report = ReportRequest.objects.get()
    produce_elsewhere(str(report.id))  # what the worker does, while the page stays open

    expect(status).to_contain_text("Done: signed, stored and recorded in the ledger.")
    expect(page.locator("#report-refresh")).to_be_hidden()
    with page.expect_download() as download:
        status.get_by_role("link", name="Download the signed PDF").click()
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    report.refresh_from_db()
    with services.storage().open(report.file_name, "rb") as stored:
        assert saved.read_bytes() == stored.read()

    page.goto("/reports/verify")
    assert_every_field_labelled(page)
    page.get_by_label("Signed report (PDF)").set_input_files(saved)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status").filter(has_text="authentic")).to_contain_text(
        "This report is authentic and intact"
    )
