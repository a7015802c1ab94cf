"""The approvals inbox and the sign page through the test client: what is signed, the
password re-entered, and refusals explained on the page."""

import pytest

from auditreg.ledger.models import Entry
from auditreg.registry import services
from auditreg.registry.domain import Meaning, Role, Stage
from auditreg.registry.models import Signature
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
    services.grant_role(principal=people.dana, role=Role.VALIDATOR, by=people.ada)
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
