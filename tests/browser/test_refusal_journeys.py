"""Refused signatures in a real browser: each refusal is explained on the page, recorded as
a failed attempt where Part 11 asks for it, and changes nothing else. An auditor reads
everything and changes nothing."""

import pytest
from playwright.sync_api import Page, expect

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.ledger.models import Entry
from auditreg.registry.models import ModelVersion, Signature
from tests.browser.conftest import sign_in
from tests.factories import make_model, make_use_case, make_version, password, submit

SIGN = "/models/credit-pd/versions/1/sign"
VALIDATE = f"{SIGN}?meaning=validated&role=validator"


@pytest.fixture
def in_validation(people) -> ModelVersion:
    version = submit(people, make_version(people, make_model(people)))
    make_use_case(people, version.model)
    return version


def signed() -> int:
    return Entry.objects.filter(kind="signature.signed").count()


def try_to_sign(page: Page, url: str, secret: str) -> None:
    page.goto(url)
    page.get_by_label("Comment").fill("looks fine")
    page.get_by_label("Your password").fill(secret)
    page.get_by_role("button", name="Sign as").click()


def test_a_wrong_password_is_explained_and_recorded_as_a_failed_attempt(in_validation, page):
    before = signed()
    sign_in(page, "vic")
    try_to_sign(page, VALIDATE, "pw-vic-wrong")
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("The signature was not recorded")
    expect(refusal).to_contain_text("Wrong password: re-enter your own password")
    expect(page.get_by_label("Comment")).to_have_value("looks fine")  # the comment is kept
    assert Entry.objects.filter(kind="signature.failed").count() == 1
    assert signed() == before


def test_the_developer_cannot_validate_their_own_version(people, in_validation, page):
    accounts.grant_role(principal=people.dana, role=Role.VALIDATOR, by=people.ada)
    before = signed()
    sign_in(page, "dana")
    try_to_sign(page, VALIDATE, password("dana"))
    expect(page.get_by_role("alert")).to_contain_text("Separation of duties")
    expect(page.get_by_role("alert")).to_contain_text("someone independent must")
    assert signed() == before
    assert ModelVersion.objects.get(pk=in_validation.pk).stage == "validation"


def test_a_role_not_held_is_refused(in_validation, page):
    before = signed()
    sign_in(page, "alice")  # an approver, not a validator
    try_to_sign(page, VALIDATE, password("alice"))
    expect(page.get_by_role("alert")).to_contain_text("Wrong role")
    assert signed() == before
    assert Entry.objects.filter(kind="signature.failed").count() == 1


def test_an_auditor_sees_everything_and_changes_nothing(in_validation, page):
    entries = Entry.objects.count()
    sign_in(page, "olga")
    page.goto("/signoffs")
    expect(page.get_by_text("No version awaits a signature your roles can give.")).to_be_visible()
    page.goto("/models/credit-pd/versions/1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Credit Pd, version 1")
    # No form on a reading page but the sign-out one.
    assert page.locator("main form[method=post]").count() == 0
    # Typing the sign page's address does not lend the auditor a validator's role.
    try_to_sign(page, VALIDATE, password("olga"))
    refused = page.get_by_role("heading", level=1)
    expect(refused).to_have_text("Your roles read; they change nothing")
    assert not Signature.objects.filter(signer="user:olga").exists()

    # The administration pages: read, with no form to change anything.
    page.goto("/administration/tokens")
    expect(page.get_by_role("note")).to_contain_text("you can read everything here")
    expect(page.get_by_role("button", name="Issue token")).to_have_count(0)
    # Posts sent with the auditor's own session and a valid CSRF token change nothing either.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    changes = {
        "/administration/tokens/create": {"service": "service:trainer", "name": "x"},
        "/usecases/us-retail-pd/authorize": {"version": "1", "effective_on": "2026-03-31"},
        SIGN: {"meaning": "validated", "role": "validator", "password": password("olga")},
    }
    for path, form in changes.items():
        response = page.request.post(path, form={"csrfmiddlewaretoken": token, **form})
        assert response.status == 403, path
        assert "nothing was recorded" in response.text(), path  # the role refused, not CSRF
    assert Entry.objects.count() == entries


def test_a_validator_cannot_reach_the_administration(in_validation, page):
    sign_in(page, "vic")
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Administration")
    response = page.goto("/administration/tokens")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).not_to_contain_text("service:trainer")


def test_a_forged_post_without_the_csrf_token_is_refused(in_validation, page):
    before = Entry.objects.count()
    sign_in(page, "vic")
    page.goto(VALIDATE)
    form = {
        "meaning": "validated",
        "role": "validator",
        "content_sha256": page.locator("input[name=content_sha256]").input_value(),
        "password": password("vic"),
    }
    # The browser's own session cookie goes with it, as from a page on another site.
    response = page.request.post(VALIDATE, form=form)
    assert response.status == 403
    assert Entry.objects.count() == before


def test_a_rejection_needs_a_reason_and_a_request_for_changes_signs_nothing(in_validation, page):
    before = signed()
    sign_in(page, "vic")
    page.goto("/signoffs")
    page.get_by_role("link", name="Sign rejected as validator").click()
    expect(page.get_by_label("Reason (required)")).to_be_visible()
    page.get_by_label("Your password").fill(password("vic"))
    # The browser itself will not send the form with the required reason empty.
    page.get_by_role("button", name="Sign as validator: rejected").click()
    assert page.get_by_label("Reason (required)").evaluate("e => e.validity.valueMissing")
    # Nor will the server, when the form is sent around the browser's check.
    form = {
        name: page.locator(f"main input[name={name}]").input_value()
        for name in ("csrfmiddlewaretoken", "meaning", "role", "content_sha256")
    }
    answer = page.request.post(page.url, form={**form, "password": password("vic")})
    assert "A reason is required" in answer.text()
    assert signed() == before

    page.get_by_role("link", name="Request changes as validator").click()
    page.get_by_label("The changes you ask for (required)").fill(
        "Add the 2025 vintage to the OOT test."
    )
    page.get_by_role("button", name="Request changes as validator").click()
    expect(page.get_by_role("status").first).to_contain_text("nothing was signed")
    changes = page.get_by_role("region", name="Changes requested")
    expect(changes).to_contain_text("Add the 2025 vintage to the OOT test.")
    expect(changes).to_contain_text("open")
    assert signed() == before
    assert ModelVersion.objects.get(pk=in_validation.pk).stage == "validation"
