"""The approvals inbox and the sign page through the test client: what is signed, the
password re-entered, and refusals explained on the page."""

import pytest

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.ledger.models import Entry
from auditreg.registry.domain import Meaning, Stage
from auditreg.registry.models import Signature
from auditreg.registry.services import signatures
from tests.factories import make_model, make_version, password, reload, submit
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

PAGE = "/models/credit-pd/versions/1"
VALIDATE = f"{PAGE}/sign?meaning=validated&role=validator"


@pytest.fixture
def in_validation(people):
    return submit(people, make_version(people, make_model(people)))


def shown_hash(page) -> str:
    return str(page.context["content_sha256"])


def post(client, url: str, page, secret: str, **extra: str):
    form = {
        "meaning": page.context["meaning"],
        "role": page.context["role"],
        "content_sha256": shown_hash(page),
        "comment": "fit for purpose",
        "password": secret,
        **extra,
    }
    return client.post(url, form)


def failures() -> int:
    return Entry.objects.filter(kind="signature.failed").count()


def test_validator_sees_the_version_in_the_inbox_and_signs_it(in_validation, client):
    sign_in(client, "vic")
    inbox = client.get("/signoffs")
    assert inbox.status_code == 200
    assert "model:credit-pd/1" in inbox.text
    assert 'href="/models/credit-pd/versions/1/sign?meaning=validated&amp;role=validator"' in (
        inbox.text
    )
    page = client.get(VALIDATE)
    assert page.status_code == 200
    assert shown_hash(page).startswith("sha256:")
    assert shown_hash(page) in page.text
    assert in_validation.package_digest in page.text
    response = post(client, VALIDATE, page, password("vic"))
    assert response.status_code == 302
    assert response["Location"] == PAGE
    entry = Entry.objects.filter(kind="signature.signed").order_by("-seq").first()
    assert entry is not None and entry.payload["meaning"] == "validated"
    assert entry.payload["content_sha256"] == shown_hash(page)
    # The high tier still needs its approvals: the stage stays in validation.
    assert reload(in_validation).stage == Stage.VALIDATION
    assert "was recorded" in client.get(PAGE).text
    assert "model:credit-pd/1" not in client.get("/signoffs").text


def test_a_wrong_password_is_refused_on_the_page(in_validation, client):
    sign_in(client, "vic")
    page = client.get(VALIDATE)
    before = failures()
    response = post(client, VALIDATE, page, "pw-vic-wrong")
    assert response.status_code == 200
    assert "Wrong password" in response.text
    assert "password is not correct" in response.text
    assert failures() == before + 1
    assert not Signature.objects.filter(signer="user:vic").exists()


def test_the_author_cannot_validate_separation_of_duties(people, in_validation, client):
    accounts.grant_role(principal=people.dana, role=Role.VALIDATOR, by=people.ada)
    sign_in(client, "dana")
    page = client.get(VALIDATE)
    response = post(client, VALIDATE, page, password("dana"))
    assert response.status_code == 200
    assert "separation of duties" in response.text.lower()
    assert "someone independent must" in response.text
    assert not Signature.objects.filter(signer="user:dana", meaning=Meaning.VALIDATED).exists()


def test_a_stale_content_hash_is_refused(in_validation, client):
    sign_in(client, "vic")
    page = client.get(VALIDATE)
    stale = "sha256:" + "0" * 64
    response = post(client, VALIDATE, page, password("vic"), content_sha256=stale)
    assert response.status_code == 200
    assert "Content changed since shown" in response.text
    assert not Signature.objects.filter(signer="user:vic").exists()


def test_the_form_has_a_csrf_token_and_the_meanings_the_roles_allow(in_validation, client):
    sign_in(client, "vic")
    page = client.get(VALIDATE)
    assert 'name="csrfmiddlewaretoken"' in page.text
    assert 'name="content_sha256"' in page.text
    assert "meaning=rejected&amp;role=validator" in page.text
    assert "meaning=approved" not in page.text


def test_a_person_without_a_role_gets_403(in_validation, client):
    sign_in(client, "mallory")
    assert client.get("/signoffs").status_code == 403
    assert client.get(VALIDATE).status_code == 403
    assert client.post(VALIDATE, {"password": password("mallory")}).status_code == 403


# --- The policy requirement, requests for changes, an expired session, read-only roles -------


def test_the_sign_page_names_the_policy_requirement_it_fills(in_validation, client):
    sign_in(client, "vic")
    page = client.get(VALIDATE).text
    assert "validated 1 of 1 by validator under the high-tier policy&#x27;s approval rule" in page
    assert "1 validated by validator; 1 approved by approver" in page
    reject = client.get(f"{PAGE}/sign?meaning=rejected&role=validator").text
    assert "A rejection fills no policy requirement" in reject
    assert "Reason (required)" in reject


def test_a_request_for_changes_is_recorded_and_is_not_a_signature(in_validation, client):
    sign_in(client, "vic")
    url = f"{PAGE}/sign?meaning=changes_requested&role=validator"
    page = client.get(url)
    assert "This is not a signature" in page.text
    assert 'name="password"' not in page.text
    form = {"meaning": "changes_requested", "role": "validator", "comment": ""}
    refused = client.post(url, form)
    assert "The request was not recorded" in refused.text
    assert not Entry.objects.filter(kind="changes.requested").exists()
    form["comment"] = "Add the 2025 vintage to the back-test"
    response = client.post(url, form)
    assert response.status_code == 302
    entry = Entry.objects.get(kind="changes.requested")
    assert entry.payload["comment"] == "Add the 2025 vintage to the back-test"
    assert not Signature.objects.filter(signer="user:vic").exists()
    assert reload(in_validation).stage == Stage.VALIDATION
    again = client.get(url).text
    assert "Add the 2025 vintage to the back-test" in again and "open" in again


def test_an_expired_session_signs_nothing_and_returns_to_sign(clock, in_validation, client):
    sign_in(client, "vic")
    page = client.get(VALIDATE)
    clock.advance(minutes=31)
    response = post(client, VALIDATE, page, password("vic"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    assert not Signature.objects.filter(signer="user:vic").exists()
    login = client.get(response["Location"])
    assert "nothing was signed" in login.text
    back = client.post(
        "/login",
        {"username": "vic", "password": password("vic"), "next": login.context["next"]},
    )
    assert back["Location"].startswith(f"{PAGE}/sign?meaning=validated&role=validator")
    again = client.get(back["Location"])
    assert "Your session had expired: nothing was signed" in again.text
    assert post(client, VALIDATE, again, password("vic")).status_code == 302
    assert Signature.objects.filter(signer="user:vic").count() == 1


def test_an_auditor_cannot_sign_and_nothing_is_recorded(in_validation, client):
    sign_in(client, "olga")
    assert client.get(VALIDATE).status_code == 200
    before = Entry.objects.count()
    form = {"meaning": "validated", "role": "validator", "password": password("olga")}
    assert client.post(VALIDATE, form).status_code == 403
    assert client.post(VALIDATE, {**form, "meaning": "changes_requested"}).status_code == 403
    assert Entry.objects.count() == before


def test_a_sign_post_without_a_csrf_token_is_refused(in_validation):
    from django.contrib.auth import get_user_model
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(get_user_model().objects.get(username="vic"))
    page = strict.get(VALIDATE)
    before = Entry.objects.count()
    form = {
        "meaning": "validated",
        "role": "validator",
        "content_sha256": shown_hash(page),
        "password": password("vic"),
    }
    assert strict.post(VALIDATE, form).status_code == 403
    assert Entry.objects.count() == before


def test_the_version_page_and_the_developers_dashboard_show_the_request(people, in_validation):
    from django.test import Client

    signatures.request_changes(
        version=in_validation, role=Role.VALIDATOR, comment="Add a vintage", by=people.vic
    )
    client = Client()
    sign_in(client, "dana")
    assert "Changes requested on your versions" in client.get("/").text
    assert "Add a vintage" in client.get(PAGE).text
    client.post("/logout")
    sign_in(client, "alice")
    assert "Changes requested on your versions" not in client.get("/").text


def test_a_developer_submits_a_version_for_validation_from_its_page(people, client):
    version = make_version(people, make_model(people))
    sign_in(client, "dana")
    page = client.get(PAGE)
    submit_url = f"{PAGE}/sign?meaning=authored&role=developer"
    assert 'href="/models/credit-pd/versions/1/sign?meaning=authored&amp;role=developer"' in (
        page.text
    )
    assert "submit for validation (authored) as developer" in page.text
    shown = client.get(submit_url)
    assert "for independent validation" in shown.text
    response = post(client, submit_url, shown, password("dana"))
    assert response.status_code == 302
    assert reload(version).stage == Stage.VALIDATION
    # Submitted: the developer has nothing more to sign; the validator now has.
    assert "meaning=authored" not in client.get(PAGE).text
    client.logout()
    sign_in(client, "vic")
    assert 'href="/models/credit-pd/versions/1/sign?meaning=validated&amp;role=validator"' in (
        client.get(PAGE).text
    )


def test_the_version_page_offers_no_signature_to_an_auditor_but_reports(in_validation, client):
    sign_in(client, "olga")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "/sign?" not in page.text
    assert "/reports/new?kind=model-risk&amp;subject=model%3Acredit-pd/1" in page.text
