"""The approval journey in a real browser, as its people walk it.

A training job registers a version through the REST API with its service token; the
developer submits it; a validator finds it in the inbox and signs, from the keyboard; an
approver and the model risk committee sign; the version is approved. Along the way, the
inventory finds it, its page shows what was signed, and the ledger explorer shows and proves
the entries behind it.
"""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from auditreg.client import Client
from auditreg.ledger.models import Entry
from auditreg.registry import services
from auditreg.registry.domain import Meaning, Role, Scope, Stage
from auditreg.registry.models import ModelVersion
from tests.browser.conftest import assert_every_field_labelled, sign_in, sign_out
from tests.factories import make_package, password, sign

VERSION = "model:credit-pd/1"
PAGE = "/models/credit-pd/versions/1"
NEW_YORK = re.compile(r"\bE[SD]T\b")  # the personas are enrolled in America/New_York


@pytest.fixture
def from_training_job(live_server, people) -> ModelVersion:
    """What a nightly training job does: register the model and its version over HTTP."""
    _, token = services.issue_token(
        principal=people.trainer, name="nightly", scopes=[Scope.INGEST], by=people.ada
    )
    api = Client(live_server.url, token)
    api.register_model(
        slug="credit-pd",
        name="Credit PD",
        owner="Retail Credit Risk",
        domain="credit risk",
        risk_tier="high",
        intended_purpose="12-month PD for applicants",
        limitations="Not for small business",
    )
    answer = api.register_version("credit-pd", make_package(1))
    assert answer.created
    version = ModelVersion.objects.select_related("model").get(model__slug="credit-pd", number=1)
    sign(people.dana, version, Meaning.AUTHORED, Role.DEVELOPER)  # submitted for validation
    return version


def sign_from_inbox(page: Page, username: str, meaning: str, role: str, comment: str) -> None:
    """Open the inbox, follow the link to sign, and sign with the password re-entered."""
    sign_in(page, username)
    page.get_by_role("link", name="Sign-offs").click()
    expect(page.get_by_role("heading", name="Sign-offs")).to_be_visible()
    page.get_by_role("link", name=f"Sign {meaning} as {role}").click()
    expect(page.get_by_role("heading", name="What you are signing")).to_be_visible()
    assert_every_field_labelled(page)
    page.get_by_label("Comment").fill(comment)
    page.get_by_label("Your password").fill(password(username))
    page.get_by_role("button", name=f"Sign as {role}: {meaning}").click()


def test_a_version_from_a_training_job_is_validated_and_approved(
    from_training_job, new_page, people
):
    page = new_page()

    # The validator finds the version by searching the inventory and reads its page.
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
    shown = page.locator("pre").inner_text()
    assert from_training_job.package_digest in shown
    digest = page.get_by_text("SHA-256:").locator("span").inner_text()
    assert digest.startswith("sha256:")
    page.get_by_label("Comment").fill("Fit for purpose; see validation report VR-2026-014.")
    page.get_by_label("Your password").fill(password("vic"))
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Sign as validator: validated")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_have_text(
        "Your signature (validated as validator) was recorded."
    )
    expect(page).to_have_url(PAGE)
    signed = Entry.objects.filter(kind="signature.signed").order_by("-seq").first()
    assert signed is not None and signed.payload["content_sha256"] == digest
    sign_out(page)

    # Two approvers: an approver, then the model risk committee.
    sign_from_inbox(page, "alice", "approved", "approver", "Approved for retail use.")
    expect(page.get_by_text("Stage: validation")).to_be_visible()
    sign_out(page)
    sign_from_inbox(page, "marc", "approved", "model_risk_committee", "Minute MRC-2026-07.")
    expect(page.get_by_text("Stage: approved")).to_be_visible()
    signatures = page.get_by_role("table", name=f"Electronic signatures on {VERSION}")
    for name in ("Victor Validator", "Alice Approver", "Marc Riskcommittee"):
        expect(signatures).to_contain_text(name)
    expect(signatures).to_contain_text(NEW_YORK)  # signed times name the reader's zone
    assert ModelVersion.objects.get(pk=from_training_job.pk).stage == Stage.APPROVED
    sign_out(page)

    # An auditor reads the entries behind it in the ledger explorer, with their proofs.
    call_command("checkpoint", stdout=io.StringIO())
    sign_in(page, "olga")
    page.get_by_role("link", name="Ledger").click()
    page.get_by_label("Subject").fill(VERSION)
    page.get_by_label("Kind").fill("signature.signed")
    page.get_by_role("button", name="Filter").click()
    entries = page.get_by_role("table", name="Entries, newest first (filtered)")
    expect(entries.locator("tbody tr")).to_have_count(4)  # authored, validated, approved twice
    assert_every_field_labelled(page)
    entries.locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_text("The recomputed hash matches the stored one.")).to_be_visible()
    expect(page.get_by_text("Verified: this entry, as it is stored now")).to_be_visible()
    expect(page.locator("pre.canonical")).to_contain_text('"meaning":"approved"')
