"""Use cases and authorizations in the portal: the pages per role, proposing an
authorization within the tier policy, signing, revoking and rolling back, and the inventory
as it stood on a past day."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from auditreg.accounts.domain import Role
from auditreg.ledger.models import Entry
from auditreg.registry.domain import AuthorizationStatus, Meaning, Stage
from auditreg.registry.models import Authorization, Signature
from tests.factories import (
    approve,
    authorize,
    deploy,
    make_model,
    make_use_case,
    make_version,
    password,
    reload,
    sign,
    submit,
)
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

USE = "/usecases/us-retail-pd"
AUTHORIZE = f"{USE}/authorize"
ROLLBACK = f"{USE}/rollback"


def sign_url(number: int, meaning: str, role: str) -> str:
    return f"{USE}/authorizations/{number}/sign?meaning={meaning}&role={role}"


def entries() -> int:
    return Entry.objects.count()


@pytest.fixture
def in_production(clock, people):
    """Version 1 approved, authorized for the use case and in production."""
    model = make_model(people)
    v1 = approve(people, make_version(people, model, 1))
    use_case = make_use_case(people, model)
    authorize(people, v1, use_case)
    deploy(people, v1)
    return {"model": model, "v1": reload(v1), "use_case": use_case}


@pytest.fixture
def with_fallback(in_production, people):
    """Version 2 authorized with version 1 as its fallback, and put into production."""
    v2 = approve(people, make_version(people, in_production["model"], 2))
    authorize(people, v2, in_production["use_case"], fallback=in_production["v1"])
    deploy(people, v2)
    return {**in_production, "v2": reload(v2)}


def proposal(version_number: int, **extra: str) -> dict[str, str]:
    form = {
        "version": str(version_number),
        "effective_on": "2026-03-31",
        "expires_on": "",
        "conditions": "Quarterly PSI below 0.25\n\n  Annual back-test  \n",
        "fallback": "",
    }
    return {**form, **extra}


def propose_v2(client, people, in_production) -> Authorization:
    approve(people, make_version(people, in_production["model"], 2))
    sign_in(client, "dana")
    response = client.post(AUTHORIZE, proposal(2, fallback="1"))
    assert response.status_code == 302
    client.post("/logout")
    return Authorization.objects.get(use_case__slug="us-retail-pd", number=2)


def form_of(page, **extra: str) -> dict[str, str]:
    return {
        "meaning": page.context["meaning"],
        "role": page.context["role"],
        "content_sha256": str(page.context["content_sha256"]),
        "comment": "within appetite",
        **extra,
    }


# --- Reading -----------------------------------------------------------------------------------


def test_auditor_sees_the_use_cases_and_an_authorizations_full_record(in_production, client):
    sign_in(client, "olga")
    listing = client.get("/usecases")
    assert listing.status_code == 200
    assert "US retail PD scoring" in listing.text
    assert 'href="/usecases/us-retail-pd"' in listing.text
    assert 'aria-current="page">Use cases' in listing.text
    page = client.get(USE)
    assert page.status_code == 200
    text = page.text
    assert "US retail applicants" in text
    assert "Authorization 1" in text and "active, in force" in text
    assert "Quarterly PSI below 0.25" in text
    assert "Alice Approver: approved as approver" in text
    assert "Marc Riskcommittee: approved as model risk committee" in text
    # Dates in the person's time zone, named: midnight UTC is 20:00 the evening before in New York.
    assert "30 Mar 2026, 20:00 EDT" in text
    assert "model:credit-pd/1</a>, authorized for this use" in text
    # An auditor is offered no change.
    assert "Propose an authorization" not in text
    assert "Roll back" not in text
    assert "Revoke as" not in text


def test_a_person_without_a_role_sees_nothing_and_changes_nothing(in_production, client):
    sign_in(client, "mallory")
    before = entries()
    paths = ["/usecases", USE, AUTHORIZE, ROLLBACK, sign_url(1, "revoked", "approver")]
    for path in [*paths, "/asof?date=2026-03-31"]:
        response = client.get(path)
        assert response.status_code == 403
        assert "credit-pd" not in response.text
    for path in paths[2:]:
        form = {"reason": "x", "password": password("mallory")}
        assert client.post(path, form).status_code == 403
    assert entries() == before


def test_an_anonymous_visitor_is_sent_to_sign_in(in_production, client):
    for path in ("/usecases", USE, "/asof?date=2026-03-31"):
        assert client.get(path)["Location"].startswith("/login?next=")


def test_an_auditor_cannot_propose_sign_revoke_or_roll_back(with_fallback, client):
    sign_in(client, "olga")
    before = entries()
    posts = {
        AUTHORIZE: proposal(1),
        ROLLBACK: {"reason": "incident"},
        sign_url(2, "revoked", "approver"): {
            "meaning": "revoked",
            "role": "approver",
            "comment": "no",
            "password": password("olga"),
        },
    }
    for path, form in posts.items():
        response = client.post(path, form)
        assert response.status_code == 403
        assert "change nothing" in response.text
    assert entries() == before  # not even a refused signing attempt


def test_forged_posts_without_a_csrf_token_are_refused(with_fallback):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(get_user_model().objects.get(username="marc"))
    before = entries()
    assert strict.post(ROLLBACK, {"reason": "incident"}).status_code == 403
    assert strict.post(AUTHORIZE, proposal(1)).status_code == 403
    form = {"meaning": "revoked", "role": "model_risk_committee", "password": password("marc")}
    assert strict.post(sign_url(2, "revoked", "model_risk_committee"), form).status_code == 403
    assert entries() == before
    assert 'name="csrfmiddlewaretoken"' in strict.get(ROLLBACK).text


# --- Proposing -----------------------------------------------------------------------------------


def test_a_developer_proposes_and_it_waits_for_signatures(in_production, people, client):
    authorization = propose_v2(client, people, in_production)
    assert authorization.status == AuthorizationStatus.PROPOSED
    assert authorization.conditions == ["Quarterly PSI below 0.25", "Annual back-test"]
    assert authorization.fallback_id == "model:credit-pd/1"
    assert authorization.expires_on == date(2027, 3, 30)  # the high tier's 12 months
    sign_in(client, "alice")
    page = client.get(USE).text
    assert "The policy still requires" in page
    assert "1 more approved by approver; 1 more approved by model risk committee" in page
    inbox = client.get("/signoffs").text
    assert "authorization:us-retail-pd/2" in inbox
    link = "/usecases/us-retail-pd/authorizations/2/sign?meaning=approved&amp;role=approver"
    assert f'href="{link}"' in inbox


def test_the_proposal_form_shows_the_policys_default_and_latest_expiry(in_production, client):
    sign_in(client, "dana")
    page = client.get(AUTHORIZE).text
    assert "12 months before review" in page
    assert "at the end of 30 Mar 2027" in page
    assert 'for="id_conditions"' in page and 'name="csrfmiddlewaretoken"' in page


def test_proposing_a_version_not_approved_is_refused_with_the_reason(in_production, people, client):
    submit(people, make_version(people, in_production["model"], 2))
    sign_in(client, "dana")
    before = entries()
    response = client.post(AUTHORIZE, proposal(2))
    assert response.status_code == 200
    assert "The authorization was not proposed" in response.text
    assert "model:credit-pd/2 is validation; only approved versions" in response.text
    assert entries() == before


def test_an_expiry_beyond_the_policy_is_refused(in_production, people, client):
    approve(people, make_version(people, in_production["model"], 2))
    sign_in(client, "dana")
    before = entries()
    response = client.post(AUTHORIZE, proposal(2, expires_on="2027-03-31"))
    assert "must end between 2026-03-31 and 2027-03-30" in response.text
    assert "allows 12 months before review" in response.text
    response = client.post(AUTHORIZE, proposal(2, conditions="x" * 501))
    assert "condition is longer than 500 characters" in response.text
    response = client.post(AUTHORIZE, proposal(2, effective_on="31/03/2026"))
    assert "Enter a valid date" in response.text
    response = client.post(AUTHORIZE, proposal(99))
    assert "Select a valid choice" in response.text
    assert entries() == before


def test_a_validator_cannot_propose(in_production, people, client):
    approve(people, make_version(people, in_production["model"], 2))
    sign_in(client, "vic")
    before = entries()
    response = client.post(AUTHORIZE, proposal(2))
    assert "needs the role approver or developer or model risk committee" in response.text
    assert entries() == before


# --- Signing an authorization -------------------------------------------------------------------


def test_approvals_on_the_sign_page_put_the_authorization_in_force(in_production, people, client):
    authorization = propose_v2(client, people, in_production)
    sign_in(client, "alice")
    url = sign_url(2, "approved", "approver")
    page = client.get(url)
    assert page.status_code == 200
    assert authorization.facts_digest in page.text
    assert str(page.context["content_sha256"]) in page.text
    assert "I approve using this version for this use case" in page.text
    assert "approved 1 of 1 by approver under the high-tier policy" in page.text
    response = client.post(url, form_of(page, password=password("alice")))
    assert response.status_code == 302 and response["Location"] == USE
    assert Authorization.objects.get(pk=authorization.pk).status == AuthorizationStatus.PROPOSED
    client.post("/logout")
    sign_in(client, "marc")
    url = sign_url(2, "approved", "model_risk_committee")
    page = client.get(url)
    client.post(url, form_of(page, password=password("marc")))
    assert Authorization.objects.get(pk=authorization.pk).status == AuthorizationStatus.ACTIVE
    assert "active, in force" in client.get(USE).text


def test_the_proposer_cannot_approve_separation_of_duties(in_production, people, client):
    approve(people, make_version(people, in_production["model"], 2))
    sign_in(client, "alice")
    client.post(AUTHORIZE, proposal(2))
    url = sign_url(2, "approved", "approver")
    page = client.get(url)
    failed = Entry.objects.filter(kind="signature.failed").count()
    response = client.post(url, form_of(page, password=password("alice")))
    assert response.status_code == 200
    assert "someone independent must" in response.text
    assert Entry.objects.filter(kind="signature.failed").count() == failed + 1
    assert not Signature.objects.filter(authorization__number=2).exists()


def test_a_wrong_password_or_changed_content_is_refused(in_production, people, client):
    propose_v2(client, people, in_production)
    sign_in(client, "alice")
    url = sign_url(2, "approved", "approver")
    page = client.get(url)
    response = client.post(url, form_of(page, password="pw-alice-wrong"))
    assert "Wrong password" in response.text
    stale = "sha256:" + "0" * 64
    response = client.post(url, form_of(page, password=password("alice"), content_sha256=stale))
    assert "Content changed since shown" in response.text
    assert not Signature.objects.filter(authorization__number=2).exists()


def test_a_role_the_policy_does_not_ask_for_is_refused(in_production, people, client):
    propose_v2(client, people, in_production)
    services_role = Role.ADMINISTRATOR
    sign_in(client, "ada")
    url = sign_url(2, "approved", services_role.value)
    page = client.get(url)
    assert "This cannot be signed" in page.text
    assert "has no place for approved by administrator" in page.text


# --- Revoking ------------------------------------------------------------------------------------


def test_revoking_needs_a_reason(in_production, client):
    sign_in(client, "alice")
    url = sign_url(1, "revoked", "approver")
    page = client.get(url)
    assert "Reason (required)" in page.text
    assert "fills no policy requirement" in page.text
    response = client.post(url, form_of(page, password=password("alice"), comment="  "))
    assert response.status_code == 200
    assert "A reason is required" in response.text
    assert Authorization.objects.get(number=1).status == AuthorizationStatus.ACTIVE
    page = client.get(url)
    form = form_of(page, password=password("alice"), comment="PSI breach in Q1")
    assert client.post(url, form).status_code == 302
    revoked = Authorization.objects.get(number=1)
    assert revoked.status == AuthorizationStatus.REVOKED
    text = client.get(USE).text
    assert "PSI breach in Q1" in text and "Revoked" in text


# --- Rolling back --------------------------------------------------------------------------------


def test_rollback_explains_what_will_happen_then_does_it(with_fallback, people, client):
    sign_in(client, "marc")
    page = client.get(ROLLBACK).text
    assert "model:credit-pd/2</span>, now in production, will be <strong>deprecated" in page
    assert "model:credit-pd/1</span>, the fallback named by authorization 2" in page
    before = entries()
    response = client.post(ROLLBACK, {"reason": ""})
    assert "Nothing was rolled back" in response.text and "reason is required" in response.text
    assert entries() == before
    response = client.post(ROLLBACK, {"reason": "INC-42: drift"})
    assert response.status_code == 302
    assert reload(with_fallback["v2"]).stage == Stage.DEPRECATED
    assert reload(with_fallback["v1"]).stage == Stage.PRODUCTION
    assert "is in production again" in client.get(USE).text


def test_rollback_without_a_fallback_is_refused(in_production, client):
    sign_in(client, "marc")
    assert "there is no fallback to roll back to" in client.get(ROLLBACK).text
    before = entries()
    response = client.post(ROLLBACK, {"reason": "INC-42"})
    assert response.status_code == 200
    assert "has no fallback authorized" in response.text
    assert entries() == before
    assert reload(in_production["v1"]).stage == Stage.PRODUCTION


def test_a_developer_cannot_roll_back(with_fallback, client):
    sign_in(client, "dana")
    before = entries()
    response = client.post(ROLLBACK, {"reason": "INC-42"})
    assert "cannot roll back use cases" in response.text
    assert entries() == before


# --- The inventory on a past day -----------------------------------------------------------------


def test_as_of_shows_the_stage_a_version_had_then(clock, people, client):
    model = make_model(people)
    v1 = approve(people, make_version(people, model, 1))
    use_case = make_use_case(people, model)
    clock.advance(days=2)
    authorize(people, v1, use_case)
    deploy(people, v1)
    last_on_march_31 = Entry.objects.filter(recorded_at__lte=clock.now.replace(day=1, month=4))
    seq = last_on_march_31.order_by("-seq").values_list("seq", flat=True)[0]
    sign_in(client, "olga")
    page = client.get("/asof?date=2026-03-31")
    assert page.status_code == 200
    [row] = page.context["models"]
    assert [(v.subject, v.stage) for v in row["versions"]] == [("model:credit-pd/1", "approved")]
    assert "at the end of 31 Mar 2026, 23:59:59 EDT" in page.text
    assert f'href="/ledger/entries/{seq}"' in page.text
    assert "No authorization was in force" in page.text
    now = client.get("/asof?date=2026-04-02")
    [row] = now.context["models"]
    assert row["versions"][0].stage == "production"
    assert "authorization:us-retail-pd/1" in now.text
    assert "the day has not ended" in now.text


def test_as_of_refuses_a_bad_or_future_date(clock, people, client):
    sign_in(client, "olga")
    assert "is not a date" in client.get("/asof?date=31/03/2026").text
    assert "has not come yet" in client.get("/asof?date=2026-04-01").text
    assert "moment" not in client.get("/asof").context


def test_meaning_choices_for_an_authorization_follow_the_tier_policy(in_production, people, client):
    propose_v2(client, people, in_production)
    sign_in(client, "tess")  # approver and committee
    page = client.get(USE).text
    assert "Sign approved as approver" in page
    assert "Sign approved as model_risk_committee" in page
    assert "Revoke as approver" in page  # on the authorization in force
    sign(people.alice, Authorization.objects.get(number=2), Meaning.APPROVED, Role.APPROVER)
    assert "Sign rejected as approver" in client.get(USE).text


NEW_USE = {
    "slug": "smb-credit-pd",
    "title": "Small-business credit PD",
    "population": "US small businesses applying for credit lines under $250k",
    "description": "",
}


def test_an_approver_defines_a_use_case(people, client):
    make_model(people)
    sign_in(client, "alice")
    assert client.get("/usecases/new?model=credit-pd").status_code == 200
    response = client.post("/usecases/new", {**NEW_USE, "model": "credit-pd"})
    assert response.status_code == 302
    assert response["Location"] == "/usecases/smb-credit-pd"
    entry = Entry.objects.filter(kind="usecase.created").order_by("-seq").first()
    assert entry is not None and entry.subject == "usecase:smb-credit-pd"
    assert entry.actor == "user:alice"
    assert "Small-business credit PD" in client.get("/usecases").text


@pytest.mark.parametrize("username", ["olga", "dana"])
def test_an_auditor_or_a_developer_cannot_define_a_use_case(people, client, username):
    make_model(people)
    sign_in(client, username)
    before = entries()
    response = client.post("/usecases/new", {**NEW_USE, "model": "credit-pd"})
    if username == "olga":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert "The use case was not defined" in response.text
    assert entries() == before


def test_a_bad_use_case_is_explained_and_records_nothing(people, client):
    model = make_model(people)
    make_use_case(people, model)
    sign_in(client, "alice")
    before = entries()
    other_facts = {**NEW_USE, "slug": "us-retail-pd", "model": "credit-pd"}
    assert "already exists" in client.post("/usecases/new", other_facts).text
    assert "reserved" in client.post("/usecases/new", {**other_facts, "slug": "new"}).text
    unknown = client.post("/usecases/new", {**NEW_USE, "model": "x"}).text
    assert "there is no model x in the inventory" in unknown
    assert entries() == before
