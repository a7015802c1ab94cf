"""The main journey in a real browser, as its people walk it.

An administrator issues the training job's token, shown once; the job registers a version
through the REST API with it; the developer submits it; a validator finds it in the inbox and
signs, from the keyboard; an approver and the model risk committee sign; the version is
approved. The developer proposes it for a use case, the two approvers sign, and it is in
force. An auditor requests a report, watches it being produced without reloading, downloads
the signed PDF, verifies it by uploading it, and proves the entries behind it in the ledger
explorer.
"""

import io
import re
from pathlib import Path

from django.core.management import call_command
from playwright.sync_api import Page, expect

from auditreg.accounts.domain import Role
from auditreg.accounts.models import ApiToken
from auditreg.client import Client
from auditreg.ledger.models import Entry
from auditreg.registry.domain import AuthorizationStatus, Meaning, Stage
from auditreg.registry.models import Authorization, ModelVersion
from auditreg.registry.services import authorizations
from reports import services as reports
from reports.models import ReportRequest
from tests.browser.conftest import assert_every_field_labelled, in_a_worker, sign_in, sign_out
from tests.factories import make_package, password, sign

VERSION = "model:credit-pd/1"
PAGE = "/models/credit-pd/versions/1"
NEW_YORK = re.compile(r"\bE[SD]T\b")  # the personas are enrolled in America/New_York


def issue_token(page: Page) -> str:
    """The administrator issues the nightly job's token and copies it from the one page
    that shows it."""
    sign_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Service tokens").click()
    assert_every_field_labelled(page)
    page.get_by_label("Service principal").select_option("service:trainer")
    page.get_by_label("Name").fill("nightly")
    page.get_by_label("ingest").check()
    page.get_by_label("Days valid").fill("30")
    page.get_by_role("button", name="Issue token").click()
    expect(page.get_by_role("heading", name="Copy the token now")).to_be_visible()
    secret = page.get_by_label("Token for Nightly training pipeline (nightly)").input_value()
    assert secret.startswith("ar_")
    page.get_by_role("link", name="Back to the service tokens").click()
    expect(page.get_by_role("table", name="Tokens, newest first")).to_contain_text("nightly")
    assert secret not in page.content()  # shown once, never again
    sign_out(page)
    return secret


def train(url: str, token: str) -> ModelVersion:
    """What the nightly training job does: register the model and its version over HTTP."""
    api = Client(url, token)
    api.register_model(
        slug="credit-pd",
        name="Credit PD",
        owner="Retail Credit Risk",
        domain="credit risk",
        risk_tier="high",
        intended_purpose="12-month PD for applicants",
        limitations="Not for small business",
    )
    assert api.register_version("credit-pd", make_package(1)).created
    return ModelVersion.objects.select_related("model").get(model__slug="credit-pd", number=1)


def validate_from_the_keyboard(page: Page, version: ModelVersion) -> None:
    """The validator finds the version in the inventory, reads its page, and signs."""
    sign_in(page, "vic")
    expect(page.get_by_role("heading", name="Waiting for you")).to_be_visible()
    expect(page.get_by_role("link", name=VERSION)).to_be_visible()
    page.get_by_role("link", name="Models").click()
    page.get_by_label("Search name, slug or owner").fill("credit")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 model.")
    page.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Credit PD, version 1")
    expect(page.get_by_text("Stage: validation")).to_be_visible()
    expect(page.get_by_role("table", name="Upstream nodes")).to_contain_text("run:credit-pd/1")
    signatures = page.get_by_role("table", name=f"Electronic signatures on {VERSION}")
    expect(signatures.locator("tbody tr")).to_have_count(1)
    expect(signatures).to_contain_text("Dana Developer")
    assert_every_field_labelled(page)

    # The sign page shows exactly what is signed and its hash; signed from the keyboard.
    page.get_by_role("link", name="Sign-offs").click()
    page.get_by_role("link", name="Sign validated as validator").click()
    expect(page.get_by_text("Meaning: validated.")).to_be_visible()
    assert version.package_digest in page.locator("pre").inner_text()
    digest = page.get_by_text("SHA-256:").locator("span").inner_text()
    assert digest.startswith("sha256:")
    page.get_by_label("Comment").fill("Fit for purpose; see validation report VR-2026-014.")
    page.get_by_label("Your password").fill(password("vic"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign as validator: validated")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_have_text(
        "Your signature (validated as validator) was recorded."
    )
    expect(page).to_have_url(PAGE)
    signed = Entry.objects.filter(kind="signature.signed").order_by("-seq").first()
    assert signed is not None and signed.payload["content_sha256"] == digest
    sign_out(page)


def sign_from_inbox(page: Page, username: str, meaning: str, role: str, comment: str) -> None:
    """Open the inbox, follow the link to sign, and sign with the password re-entered."""
    sign_in(page, username)
    page.get_by_role("link", name="Sign-offs").click()
    expect(page.get_by_role("heading", name="Sign-offs")).to_be_visible()
    page.get_by_role("link", name=f"Sign {meaning} as {role}").click()
    expect(page.get_by_role("heading", name="What you are signing")).to_be_visible()
    expect(page.get_by_text("Policy requirement:")).to_be_visible()
    assert_every_field_labelled(page)
    page.get_by_label("Comment").fill(comment)
    page.get_by_label("Your password").fill(password(username))
    page.get_by_role("button", name=f"Sign as {role}: {meaning}").click()
    expect(page.get_by_role("status").first).to_contain_text("was recorded")


def approve(page: Page, version: ModelVersion) -> None:
    sign_from_inbox(page, "alice", "approved", "approver", "Approved for retail use.")
    expect(page.get_by_text("Stage: validation")).to_be_visible()
    sign_out(page)
    sign_from_inbox(page, "marc", "approved", "model_risk_committee", "Minute MRC-2026-07.")
    expect(page.get_by_text("Stage: approved")).to_be_visible()
    signatures = page.get_by_role("table", name=f"Electronic signatures on {VERSION}")
    for name in ("Victor Validator", "Alice Approver", "Marc Riskcommittee"):
        expect(signatures).to_contain_text(name)
    expect(signatures).to_contain_text(NEW_YORK)  # signed times name the reader's zone
    assert ModelVersion.objects.get(pk=version.pk).stage == Stage.APPROVED
    sign_out(page)


def authorize(page: Page) -> None:
    """The developer proposes the version for the use case; the two approvers sign."""
    sign_in(page, "dana")
    page.get_by_role("link", name="Use cases").click()
    page.get_by_role("link", name="US retail PD scoring").click()
    page.get_by_role("link", name="Propose an authorization").click()
    assert_every_field_labelled(page)
    page.get_by_label("Version to authorize").select_option("1")
    page.get_by_label("Conditions, one per line").fill("Quarterly PSI below 0.25")
    page.get_by_role("button", name="Propose the authorization").click()
    expect(page.get_by_role("status").first).to_contain_text("Authorization 1 was proposed")
    sign_out(page)
    sign_from_inbox(page, "alice", "approved", "approver", "Within the retail appetite.")
    sign_out(page)
    sign_from_inbox(page, "marc", "approved", "model_risk_committee", "Minute MRC-2026-08.")
    page.goto("/usecases/us-retail-pd")
    authorization = page.get_by_role("heading", name=re.compile("Authorization 1:"))
    expect(authorization).to_contain_text("active, in force")
    expect(page.locator("article")).to_contain_text("Quarterly PSI below 0.25")
    assert Authorization.objects.get().status == AuthorizationStatus.ACTIVE
    sign_out(page)


def report_and_verify(page: Page, saved: Path) -> None:
    """An auditor requests a report, watches it done without reloading, downloads it and
    verifies the downloaded file by uploading it."""
    sign_in(page, "olga")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Request a report").click()
    assert_every_field_labelled(page)
    page.get_by_label("Kind of report").select_option("model-risk")
    page.get_by_label("Subject").fill(VERSION)
    page.get_by_role("button", name="Request the report").click()
    status = page.locator("#report-status")
    expect(status).to_contain_text("Queued: waiting for a worker")
    download_link = status.get_by_role("link", name="Download the signed PDF")
    expect(download_link).to_be_hidden()
    opened = page.url

    in_a_worker(reports.produce, str(ReportRequest.objects.get().id))  # the queued task

    expect(status).to_contain_text("Done: signed, stored and recorded in the ledger.")
    assert page.url == opened  # the page followed the work; it was not reloaded
    with page.expect_download() as download:
        download_link.click()
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")

    page.get_by_role("link", name="All reports").click()
    page.get_by_role("link", name="Verify a signed report").click()
    assert_every_field_labelled(page)
    page.get_by_label("Signed report (PDF)").set_input_files(saved)
    page.get_by_role("button", name="Verify").click()
    result = page.get_by_role("status").filter(has_text="authentic")
    expect(result).to_contain_text("This report is authentic and intact")
    expect(result).to_contain_text(f"model-risk report on {VERSION}")


def prove_in_the_ledger(page: Page) -> None:
    """The auditor reads the signatures' entries in the ledger explorer, with their proofs."""
    call_command("checkpoint", stdout=io.StringIO())
    page.get_by_role("link", name="Ledger").click()
    page.get_by_label("Subject").fill(VERSION)
    page.get_by_label("Kind").fill("signature.signed")
    page.get_by_role("button", name="Filter").click()
    entries = page.get_by_role("table", name="Entries, newest first (filtered)")
    expect(entries.locator("tbody tr")).to_have_count(4)  # authored, validated, approved twice
    assert_every_field_labelled(page)
    entries.locator("tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_text("The recomputed hash matches the stored one.")).to_be_visible()
    expect(page.get_by_text("Verified: this entry, as it is stored now")).to_be_visible()
    expect(page.locator("pre.canonical")).to_contain_text('"meaning":"approved"')


def test_a_version_from_a_training_job_is_approved_authorized_and_reported(
    live_server, people, signing_dir, page: Page, tmp_path: Path
):
    token = issue_token(page)
    version = train(live_server.url, token)
    assert ApiToken.objects.get(name="nightly").principal == people.trainer
    sign(people.dana, version, Meaning.AUTHORED, Role.DEVELOPER)  # submitted for validation
    # The use case is defined by an approver, a fact the portal shows but does not create.
    authorizations.create_use_case(
        slug="us-retail-pd",
        title="US retail PD scoring",
        model=version.model,
        population="US retail applicants",
        by=people.alice,
    )

    validate_from_the_keyboard(page, version)
    approve(page, version)
    authorize(page)
    report_and_verify(page, tmp_path / "model-risk.pdf")
    prove_in_the_ledger(page)
