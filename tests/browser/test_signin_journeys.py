"""Signing in through a real browser: lock-out after repeated failures, the idle time-out,
and a person without a role who sees nothing."""

from playwright.sync_api import Page, expect

from auditreg.ledger.models import Entry
from tests.browser.conftest import assert_every_field_labelled, sign_in
from tests.factories import make_model, make_version, password, submit


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(people, page: Page):
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    assert_every_field_labelled(page)
    for _ in range(5):
        sign_in(page, "vic", "guess")
        expect(page.get_by_role("alert")).to_contain_text("did not match")
    sign_in(page, "vic")
    expect(page.get_by_role("alert")).to_contain_text("locked until")
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_right_password_opens_the_dashboard_with_the_person_and_zone(people, page: Page):
    sign_in(page, "olga")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator(".who")).to_contain_text("Olga Auditor")
    expect(page.locator("footer")).to_contain_text("America/New_York")
    # The first Tab reaches the skip link; Enter takes the keyboard past the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_an_idle_session_ends_and_the_signature_waits_for_a_new_sign_in(clock, people, page: Page):
    submit(people, make_version(people, make_model(people)))
    sign_in(page, "vic")
    page.goto("/models/credit-pd/versions/1/sign?meaning=validated&role=validator")
    page.get_by_label("Your password").fill(password("vic"))
    signatures = Entry.objects.filter(kind="signature.signed").count()
    clock.advance(minutes=31)  # away from the keyboard longer than the 30 idle minutes
    page.get_by_role("button", name="Sign as validator: validated").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Please sign in to see that page.")).to_be_visible()
    assert Entry.objects.filter(kind="signature.signed").count() == signatures
    sign_in_again = page.url
    assert "next=/models/credit-pd/versions/1/sign" in sign_in_again
    page.get_by_label("Username").fill("vic")
    page.get_by_label("Password").fill(password("vic"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign model:credit-pd/1")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("session had expired: nothing was signed")
    expect(page.get_by_label("Your password")).to_have_value("")  # never carried over


def test_a_person_without_a_role_sees_nothing(people, page: Page):
    make_model(people)
    sign_in(page, "mallory")
    for path in ("/", "/models", "/models/credit-pd", "/signoffs", "/ledger"):
        response = page.goto(path)
        assert response is not None and response.status == 403
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("You have no role in the registry")
        expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
        expect(page.locator("main")).not_to_contain_text("credit-pd")
