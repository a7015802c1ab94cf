"""The reviewer portal through the test client: sign-in, lock-out, time-out, roles,
dashboard and inventory, with the number of queries per page fixed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditreg.registry.domain import RiskTier
from auditreg.registry.services import authorizations
from tests.factories import (
    approve,
    authorize,
    make_model,
    make_use_case,
    make_version,
    password,
    submit,
)

pytestmark = pytest.mark.django_db


def sign_in(client, username: str, secret: str | None = None):
    return client.post("/login", {"username": username, "password": secret or password(username)})


def models_in_validation(people, count: int, start: int = 0) -> None:
    tiers = list(RiskTier)
    for n in range(start, start + count):
        model = make_model(people, slug=f"model-{n:03d}", tier=tiers[n % 3])
        submit(people, make_version(people, model, n))


# --- Sign-in, lock-out, time-out --------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client):
    for path in ("/", "/models?q=pd"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login?next=")


def test_sign_in_with_the_right_password_opens_the_dashboard(people, client):
    response = sign_in(client, "olga")
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Olga Auditor" in page.text
    assert "auditor" in page.text


def test_sign_in_with_a_wrong_password_is_refused_on_the_page(people, client):
    response = sign_in(client, "olga", "pw-olga-wrong")
    assert response.status_code == 200
    assert "did not match" in response.text
    assert client.get("/").status_code == 302


def test_five_failures_lock_the_username_even_for_the_right_password(clock, people, client):
    for _ in range(5):
        sign_in(client, "vic", "guess")
    response = sign_in(client, "vic")
    assert "locked until" in response.text
    assert client.get("/").status_code == 302
    clock.advance(minutes=14)
    assert "locked until" in sign_in(client, "vic").text
    clock.advance(minutes=2)
    assert sign_in(client, "vic").status_code == 302
    assert client.get("/").status_code == 200


def test_lock_out_reads_the_same_for_an_unknown_username(clock, people, client):
    for username in ("vic", "nobody-here"):
        first = sign_in(client, username, "guess").text
        for _ in range(4):
            sign_in(client, username, "guess")
        locked = sign_in(client, username, "guess").text
        assert "did not match" in first
        assert "locked until" in locked


def test_a_success_clears_earlier_failures(clock, people, client):
    for _ in range(4):
        sign_in(client, "vic", "guess")
    sign_in(client, "vic")
    client.post("/logout")
    for _ in range(4):
        sign_in(client, "vic", "guess")
    assert sign_in(client, "vic").status_code == 302


def test_an_idle_session_times_out(clock, people, client):
    sign_in(client, "olga")
    for _ in range(3):  # each request renews the session
        clock.advance(minutes=25)
        assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_sign_out_is_post_only(people, client):
    sign_in(client, "olga")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


# --- Roles --------------------------------------------------------------------------------------


def test_a_person_without_a_role_sees_nothing(people, client):
    make_model(people)
    sign_in(client, "mallory")
    for path in ("/", "/models"):
        response = client.get(path)
        assert response.status_code == 403
        assert "You have no role" in response.text
        assert "credit-pd" not in response.text
        assert 'href="/models"' not in response.text


def test_a_django_user_not_enrolled_sees_nothing(db, client, django_user_model):
    django_user_model.objects.create_user("stranger", password="pw-stranger-correct")
    sign_in(client, "stranger")
    assert client.get("/").status_code == 403


def test_auditor_sees_dashboard_and_inventory(people, client):
    make_model(people)
    sign_in(client, "olga")
    assert "Ledger health" in client.get("/").text
    assert "credit-pd" in client.get("/models").text


# --- Dashboard -----------------------------------------------------------------------------------


def test_waiting_sign_off_shows_to_the_validator_not_the_developer(people, client):
    version = submit(people, make_version(people, make_model(people)))
    sign_in(client, "vic")
    assert version.subject in client.get("/").text
    client.post("/logout")
    sign_in(client, "dana")
    assert version.subject not in client.get("/").text
    client.post("/logout")
    sign_in(client, "alice")  # approvals wait for the validation sign-off
    assert version.subject not in client.get("/").text


def test_authorization_proposal_and_expiry_show_on_the_dashboard(clock, people, client):
    model = make_model(people)
    version = approve(people, make_version(people, model))
    use_case = make_use_case(people, model)
    authorize(people, version, use_case, expires_on=clock.now.date().replace(month=5, day=15))
    proposal = authorizations.propose_authorization(
        version=version,
        use_case=make_use_case(people, model, slug="eu-retail-pd"),
        effective_on=clock.now.date(),
        conditions=[],
        fallback=None,
        expires_on=None,
        by=people.dana,
    )
    sign_in(client, "alice")
    page = client.get("/").text
    assert proposal.subject in page
    assert "60 days" in page  # ends with 2026-05-15: within 60 days of 2026-03-31


def test_dashboard_counts_and_ledger_health(people, client):
    models_in_validation(people, 3)
    sign_in(client, "olga")
    page = client.get("/")
    assert page.context["board"].by_tier == [("high", 1), ("low", 1), ("medium", 1)]
    assert page.context["board"].by_stage == [("validation", 3)]
    assert "No checkpoint has been signed yet" in page.text


def test_dashboard_queries_do_not_grow_with_the_data(people, client, django_assert_max_num_queries):
    sign_in(client, "vic")
    models_in_validation(people, 3)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    models_in_validation(people, 27, start=3)
    with django_assert_max_num_queries(len(few)), CaptureQueriesContext(connection) as many:
        page = client.get("/")
    # The low tier's policy needs no validator: 20 of the 30 wait for one.
    assert page.context["board"].sign_offs.total == 20
    assert len(many) == len(few)


def test_the_dashboard_shows_the_longest_waiting_and_counts_the_rest(people, client, monkeypatch):
    monkeypatch.setattr("portal.dashboard.SHOWN", 2)
    models_in_validation(people, 6)  # 4 wait for a validator
    sign_in(client, "vic")
    page = client.get("/").text
    assert "4 waiting; the 2 waiting longest are shown." in page
    assert 'href="/signoffs">All in the approvals inbox' in page
    assert page.count('<li><a class="mono" href="/models/') == 2


# --- Inventory -----------------------------------------------------------------------------------


def test_inventory_search_filter_and_sort(people, client):
    make_model(people, "credit-pd", RiskTier.HIGH)
    other = make_model(people, "fraud-score", RiskTier.LOW)
    make_use_case(people, other, slug="card-fraud")
    submit(people, make_version(people, other))
    sign_in(client, "olga")

    def slugs(query: str) -> list[str]:
        return [m.slug for m in client.get("/models" + query).context["page"].object_list]

    assert slugs("") == ["credit-pd", "fraud-score"]
    assert slugs("?q=FRAUD") == ["fraud-score"]
    assert slugs("?q=retail credit") == ["credit-pd", "fraud-score"]  # the owner
    assert slugs("?risk_tier=high") == ["credit-pd"]
    assert slugs("?stage=validation") == ["fraud-score"]
    assert slugs("?use_case=card-fraud") == ["fraud-score"]
    assert slugs("?use_case=CARD") == ["fraud-score"]  # typed: a slug or title contains it
    assert slugs("?use_case=nothing-like-it") == []
    assert slugs("?domain=credit risk&owner=Retail Credit Risk") == ["credit-pd", "fraud-score"]
    assert slugs("?sort=-slug") == ["fraud-score", "credit-pd"]
    assert slugs("?sort=-versions") == ["fraud-score", "credit-pd"]
    assert slugs("?sort=nonsense") == ["credit-pd", "fraud-score"]


def test_inventory_pages_by_fifty_with_fixed_queries(people, client):
    for n in range(51):
        make_model(people, slug=f"model-{n:03d}")
    sign_in(client, "olga")
    with CaptureQueriesContext(connection) as first:
        page_one = client.get("/models?sort=slug")
    with CaptureQueriesContext(connection) as second:
        page_two = client.get("/models?sort=slug&page=2")
    assert len(page_one.context["page"].object_list) == 50
    assert [m.slug for m in page_two.context["page"].object_list] == ["model-050"]
    assert 'rel="next"' in page_one.text
    assert "sort=slug&amp;page=2" in page_one.text
    assert len(first) == len(second)


def test_inventory_queries_do_not_grow_with_the_data(people, client, django_assert_max_num_queries):
    sign_in(client, "olga")
    models_in_validation(people, 3)
    with CaptureQueriesContext(connection) as few:
        client.get("/models?stage=validation&sort=-versions")
    models_in_validation(people, 27, start=3)
    with django_assert_max_num_queries(len(few)):
        page = client.get("/models?stage=validation&sort=-versions")
    assert page.context["page"].paginator.count == 30


# --- Security ------------------------------------------------------------------------------------


def test_every_form_carries_a_csrf_token(people, client):
    assert "csrfmiddlewaretoken" in client.get("/login").text
    sign_in(client, "olga")
    for path in ("/", "/models"):
        assert 'name="csrfmiddlewaretoken"' in client.get(path).text  # the sign-out form


def test_sign_in_without_a_csrf_token_is_refused(people):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login", {"username": "olga", "password": password("olga")})
    assert response.status_code == 403


def test_pages_carry_security_headers_and_our_own_style_sheet(people, client):
    response = client.get("/login")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "/static/portal/portal.css" in response.text
    assert "<script" not in response.text
    assert " style=" not in response.text
    assert client.get("/static/portal/portal.css").status_code == 200


def test_dates_show_in_the_persons_time_zone(clock, people, client):
    make_model(people)
    sign_in(client, "olga")  # enrolled in America/New_York
    page = client.get("/models").text
    assert "31 Mar 2026, 08:00 EDT" in page
