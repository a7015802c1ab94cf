"""The administration pages through the test client: users and roles, service tokens and
risk-tier policies, changed only by administrators and only through the registry's services
(each change a ledger entry); auditors see and change nothing; the Django admin stays
read-only for every ledger-backed table."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role, Scope
from auditreg.accounts.models import ApiToken, Principal
from auditreg.ledger.models import Entry
from auditreg.registry.domain import Meaning, RiskTier, Stage
from auditreg.registry.models import Policy
from tests.factories import make_model, make_version, reload, sign, submit
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

USERS = "/administration/users"
TOKENS = "/administration/tokens"
POLICIES = "/administration/policies"
API = "/api/v1/models"


def principal_url(actor_id: str) -> str:
    return f"/administration/principals/{actor_id}"


def entries() -> int:
    return Entry.objects.count()


def signed_in(username: str) -> Client:
    client = Client()
    sign_in(client, username)
    return client


def person_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "person-username": "nina",
        "person-printed_name": "Nina Newcomer",
        "person-email": "nina@bank.example",
        "person-time_zone": "Europe/London",
        "person-password": "a-long-Initial-passphrase-42",
        "person-roles": ["validator"],
    }
    form.update(overrides)
    return form


def token_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "service": "service:trainer",
        "name": "nightly",
        "scopes": ["read"],
        "days": "30",
    }
    form.update(overrides)
    return form


def policy_form(
    tier: str, approval: list[tuple[str, str, int]], months: int = 12
) -> dict[str, str]:
    form: dict[str, str] = {f"{tier}-review_months": str(months)}
    for decision, rows in (
        ("approval", approval),
        ("authorization", [("approver", "approved", 1)]),
    ):
        for n, (role, meaning, count) in enumerate(rows):
            form[f"{tier}-{decision}_{n}_role"] = role
            form[f"{tier}-{decision}_{n}_meaning"] = meaning
            form[f"{tier}-{decision}_{n}_count"] = str(count)
    return form


def every_post(people) -> list[tuple[str, dict[str, Any]]]:
    """One valid request for every change the pages offer."""
    accounts.issue_token(principal=people.trainer, name="old", scopes=[Scope.READ], by=people.ada)
    prefix = ApiToken.objects.get(name="old").prefix
    return [
        ("/administration/users/enroll-person", person_form()),
        (
            "/administration/users/enroll-service",
            {"service-name": "monitor", "service-printed_name": "Drift job"},
        ),
        (principal_url("user:dana") + "/roles", {"role": "validator", "action": "grant"}),
        (principal_url("user:vic") + "/roles", {"role": "validator", "action": "revoke"}),
        (principal_url("user:bob") + "/active", {"active": "false", "reason": "left the bank"}),
        ("/administration/tokens/create", token_form()),
        (f"/administration/tokens/{prefix}/revoke", {"reason": "rotated"}),
        (
            "/administration/policies/low",
            policy_form("low", [("approver", "approved", 2)], months=6),
        ),
    ]


# --- Who sees and who changes -------------------------------------------------------------------


def test_administrator_sees_every_page_with_its_forms(people):
    client = signed_in("ada")
    for url, marker in (
        (USERS, "Enroll person"),
        (principal_url("user:dana"), "Grant role"),
        (principal_url("service:trainer"), "Deactivate"),
        (TOKENS, "Issue token"),
        (POLICIES, "Set the high tier"),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert marker in page.text, url
    assert client.get("/administration")["Location"] == USERS


def test_auditor_sees_every_page_without_a_form_to_change_anything(people):
    client = signed_in("olga")
    for url in (USERS, principal_url("user:dana"), TOKENS, POLICIES):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "as an auditor" in page.text
        assert 'method="post"' not in page.text.split("Sign out")[1], url
    assert "Dana Developer" in client.get(USERS).text


@pytest.mark.parametrize("username", ["alice", "vic", "dana", "marc"])
def test_other_roles_get_403_on_every_page(people, username):
    client = signed_in(username)
    for url in (USERS, principal_url("user:dana"), TOKENS, POLICIES, "/administration"):
        page = client.get(url)
        assert page.status_code == 403, url
        assert "Not allowed" in page.text
        assert "Wendy Validator" not in page.text


def test_a_person_with_no_role_gets_403(people):
    page = signed_in("mallory").get(USERS)
    assert page.status_code == 403
    assert "no role" in page.text


def test_anonymous_visitor_is_sent_to_sign_in(people, client):
    response = client.get(TOKENS)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


@pytest.mark.parametrize("username", ["olga", "alice", "marc", "mallory"])
def test_every_post_by_anyone_but_an_administrator_is_403_and_appends_nothing(people, username):
    posts = every_post(people)
    client = signed_in(username)
    before = entries()
    tokens = list(ApiToken.objects.values_list("prefix", "revoked_at"))
    for url, form in posts:
        response = client.post(url, form)
        assert response.status_code == 403, url
    assert entries() == before
    assert list(ApiToken.objects.values_list("prefix", "revoked_at")) == tokens
    assert not Principal.objects.filter(username__in=["nina", "monitor"]).exists()


def test_every_post_by_the_administrator_appends_to_the_ledger(people):
    posts = every_post(people)
    client = signed_in("ada")
    for url, form in posts:
        before = entries()
        response = client.post(url, form)
        assert response.status_code in (200, 302), url
        assert entries() > before, url


def test_the_pages_refuse_get_for_a_change(people):
    client = signed_in("ada")
    before = entries()
    assert (
        client.get(principal_url("user:bob") + "/active?active=false&reason=x").status_code == 405
    )
    assert entries() == before


def test_a_forged_post_without_the_csrf_token_is_refused(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="ada"))
    before = entries()
    for url, form in every_post(people):
        assert client.post(url, form).status_code == 403, url
    assert entries() == before + 1  # the token every_post issued through the service


def test_a_post_with_the_pages_csrf_token_goes_through(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="ada"))
    page = client.get(principal_url("user:dana"))
    token = page.context["csrf_token"]
    assert f'name="csrfmiddlewaretoken" value="{token}"' in page.text
    response = client.post(
        principal_url("user:dana") + "/roles",
        {"role": "validator", "action": "grant", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert "validator" in Principal.objects.get(actor_id="user:dana").roles()


def test_only_administrators_get_the_administration_link(people):
    assert 'href="/administration/users"' in signed_in("ada").get("/").text
    for username in ("olga", "alice"):
        assert 'href="/administration/users"' not in signed_in(username).get("/").text


# --- Users and roles ----------------------------------------------------------------------------


def test_enrolling_a_person_records_it_and_names_the_entries(people):
    client = signed_in("ada")
    response = client.post("/administration/users/enroll-person", person_form(), follow=True)
    nina = Principal.objects.get(actor_id="user:nina")
    assert nina.roles() == {"validator"} and nina.time_zone == "Europe/London"
    kinds = list(Entry.objects.filter(subject="user:nina").values_list("kind", "seq"))
    assert [kind for kind, _ in kinds] == [
        "principal.enrolled",
        "role.granted",
        "principal.password_set",  # who set the initial password; never the password
    ]
    assert f"ledger entries #{kinds[0][1]} to #{kinds[-1][1]}" in response.text
    assert get_user_model().objects.get(username="nina").email == "nina@bank.example"
    assert sign_in(Client(), "nina", "a-long-Initial-passphrase-42").status_code == 302
    listing = client.get(USERS).text
    assert "Nina Newcomer" in listing and "Europe/London" in listing


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"person-roles": ["validator", "overlord"]}, "overlord is not one of the available"),
        ({"person-username": "Nina Smith"}, "Use lower-case letters, digits"),
        ({"person-username": "nina/../ada"}, "Use lower-case letters, digits"),
        ({"person-username": "dana"}, "user:dana is already enrolled"),
        ({"person-time_zone": "Mars/Olympus"}, "is not an IANA time zone name"),
        ({"person-password": "short"}, "This password is too short"),
        ({"person-email": "not-an-address"}, "Enter a valid email address"),
        ({"person-printed_name": " "}, "This field is required"),
    ],
)
def test_bad_enrolment_input_is_explained_and_records_nothing(people, change, says):
    client = signed_in("ada")
    before = entries()
    page = client.post("/administration/users/enroll-person", person_form(**change))
    assert page.status_code == 200
    assert "The person was not enrolled" in page.text
    assert says in page.text.replace("&#x27;", "'")
    assert entries() == before
    assert not get_user_model().objects.filter(username="nina").exists()


def test_enrolling_a_service_makes_it_a_token_owner(people):
    client = signed_in("ada")
    form = {"service-name": "monitor", "service-printed_name": "Drift job", "service-roles": []}
    response = client.post("/administration/users/enroll-service", form)
    assert response["Location"] == principal_url("service:monitor")
    assert Principal.objects.get(actor_id="service:monitor").kind == "service"
    assert "service:monitor" in client.get(TOKENS).text


def test_granting_and_revoking_a_role_are_ledger_entries_named_in_the_message(people):
    client = signed_in("ada")
    url = principal_url("user:dana") + "/roles"
    page = client.post(url, {"role": "validator", "action": "grant"}, follow=True)
    granted = Entry.objects.filter(kind="role.granted", subject="user:dana").latest("seq")
    assert granted.payload == {"role": "validator"} and granted.actor == "user:ada"
    assert (
        "The role validator was granted to Dana Developer (user:dana): "
        f"ledger entry #{granted.seq}." in page.text
    )
    page = client.post(url, {"role": "developer", "action": "revoke"}, follow=True)
    revoked = Entry.objects.get(kind="role.revoked", subject="user:dana")
    assert f"ledger entry #{revoked.seq}" in page.text
    assert Principal.objects.get(actor_id="user:dana").roles() == {"validator"}


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"role": "overlord", "action": "grant"}, "overlord is not one of the available"),
        ({"role": "approver", "action": "grant"}, "already has the role approver"),
        ({"role": "validator", "action": "revoke"}, "does not have the role validator"),
        ({"role": "approver", "action": "promote"}, "promote is not one of the available"),
    ],
)
def test_bad_role_changes_are_explained_and_record_nothing(people, form, says):
    before = entries()
    page = signed_in("ada").post(principal_url("user:alice") + "/roles", form)
    assert page.status_code == 200
    assert "The role was not changed" in page.text
    assert says in page.text
    assert entries() == before
    assert Principal.objects.get(actor_id="user:alice").roles() == {"approver"}


def test_deactivating_needs_a_reason_and_locks_the_person_out(people):
    client = signed_in("ada")
    url = principal_url("user:bob") + "/active"
    before = entries()
    page = client.post(url, {"active": "false", "reason": "  "})
    assert "Give a reason: it is recorded in the ledger." in page.text
    assert entries() == before
    bob = signed_in("bob")
    page = client.post(url, {"active": "false", "reason": "left the bank"}, follow=True)
    entry = Entry.objects.get(kind="principal.deactivated", subject="user:bob")
    assert entry.payload == {"reason": "left the bank"}
    assert f"was deactivated: ledger entry #{entry.seq}" in page.text
    assert bob.get("/").status_code in (302, 403)
    assert sign_in(Client(), "bob").status_code == 200  # refused: the account is inactive
    page = client.post(url, {"active": "true", "reason": "came back"}, follow=True)
    assert "was reactivated" in page.text
    assert sign_in(Client(), "bob").status_code == 302


def test_deactivating_twice_is_explained(people):
    client = signed_in("ada")
    url = principal_url("user:bob") + "/active"
    client.post(url, {"active": "false", "reason": "left"})
    before = entries()
    page = client.post(url, {"active": "false", "reason": "left again"})
    assert "is already deactivated" in page.text
    assert entries() == before


def test_an_unknown_principal_is_404(people):
    client = signed_in("ada")
    assert client.get(principal_url("user:nobody")).status_code == 404
    assert client.post(principal_url("system:manage") + "/roles", {}).status_code == 404


# --- Service tokens -----------------------------------------------------------------------------


def test_a_token_secret_is_shown_in_exactly_one_response_and_works_until_revoked(people):
    client = signed_in("ada")
    created = client.post("/administration/tokens/create", token_form())
    assert created.status_code == 200
    secret = created.context["secret"]
    assert secret.startswith("ar_") and created.text.count(secret) == 1
    assert "Copy the token now" in created.text
    assert "no-store" in created["Cache-Control"]
    row = ApiToken.objects.get(name="nightly")
    assert Entry.objects.get(seq=row.issued_seq).kind == "token.issued"
    # Nowhere else: not on any page, in the session, a message, a row or an entry.
    for url in (
        TOKENS,
        principal_url("service:trainer"),
        USERS,
        "/",
        f"/ledger/entries/{row.issued_seq}",
    ):
        assert secret not in client.get(url).text, url
    assert secret not in repr(dict(client.session.items()))
    assert secret not in repr(list(ApiToken.objects.values()))
    assert all(secret.encode() not in bytes(e.body) for e in Entry.objects.all())
    # It authenticates against the API, until revoked.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(API).status_code == 200
    page = client.post(
        f"/administration/tokens/{row.prefix}/revoke", {"reason": "leaked in a log"}, follow=True
    )
    revoked = Entry.objects.get(kind="token.revoked")
    assert revoked.payload == {"token": row.prefix, "reason": "leaked in a log"}
    assert f"was revoked: ledger entry #{revoked.seq}" in page.text
    assert api.get(API).status_code == 401


def test_the_token_list_shows_owner_scopes_and_dates_but_no_secret(clock, people):
    accounts.issue_token(
        principal=people.trainer, name="nightly", scopes=[Scope.INGEST], by=people.ada
    )
    page = signed_in("olga").get(TOKENS)
    row = ApiToken.objects.get()
    assert row.prefix in page.text and "Nightly training pipeline" in page.text
    assert "ingest" in page.text
    assert "EDT" in page.text  # Olga's own time zone, named
    assert row.digest not in page.text


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"service": "user:dana"}, "Select a valid choice"),
        ({"scopes": ["admin"]}, "admin is not one of the available"),
        ({"scopes": []}, "This field is required"),
        ({"days": "400"}, "less than or equal to 365"),
        ({"name": ""}, "This field is required"),
    ],
)
def test_bad_token_requests_are_explained_and_issue_nothing(people, change, says):
    before = entries()
    page = signed_in("ada").post("/administration/tokens/create", token_form(**change))
    assert page.status_code == 200
    assert "No token was issued" in page.text
    assert says in page.text
    assert entries() == before
    assert not ApiToken.objects.exists()


def test_a_deactivated_service_cannot_get_a_token(people):
    accounts.set_active(principal=people.trainer, active=False, reason="retired", by=people.ada)
    before = entries()
    page = signed_in("ada").post("/administration/tokens/create", token_form())
    assert "No token was issued" in page.text
    assert entries() == before


def test_revoking_needs_a_reason_and_happens_once(people):
    row, _ = accounts.issue_token(
        principal=people.trainer, name="nightly", scopes=[Scope.READ], by=people.ada
    )
    client = signed_in("ada")
    url = f"/administration/tokens/{row.prefix}/revoke"
    before = entries()
    page = client.post(url, {"reason": ""})
    assert "Not revoked: Give a reason" in page.text
    assert entries() == before
    client.post(url, {"reason": "rotated"})
    before = entries()
    page = client.post(url, {"reason": "again"})
    assert "is already revoked" in page.text
    assert entries() == before
    assert client.post("/administration/tokens/nosuch/revoke", {"reason": "x"}).status_code == 404


# --- Risk-tier policies -------------------------------------------------------------------------


def test_policies_show_each_tier_and_its_history_linked_to_the_ledger(people):
    page = signed_in("olga").get(POLICIES)
    high = Policy.objects.get(risk_tier="high")
    assert (
        "1 validated by validator; 1 approved by approver; 1 approved by model risk committee"
        in page.text
    )
    assert "every 12 months" in page.text
    assert f'href="/ledger/entries/{high.set_seq}"' in page.text


def test_a_policy_change_is_a_ledger_entry_and_changes_what_sign_off_requires(people):
    version = submit(people, make_version(people, make_model(people, tier=RiskTier.HIGH)))
    client = signed_in("ada")
    form = policy_form("high", [("validator", "validated", 1)], months=6)
    page = client.post("/administration/policies/high", form, follow=True)
    policy = Policy.objects.get(risk_tier="high")
    entry = Entry.objects.get(seq=policy.set_seq)
    assert entry.kind == "policy.set" and entry.subject == "policy:high"
    assert entry.actor == "user:ada"
    assert entry.payload["approval"] == [{"role": "validator", "meaning": "validated", "count": 1}]
    assert entry.payload["review_months"] == 6
    assert f"The high tier&#x27;s policy was set: ledger entry #{entry.seq}." in page.text
    history = client.get(POLICIES).text
    assert f'href="/ledger/entries/{entry.seq}"' in history and "every 6 months" in history
    # The validator's signature alone now approves the high-tier version.
    sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)
    assert reload(version).stage == Stage.APPROVED


def test_setting_the_same_policy_again_records_nothing(people):
    client = signed_in("ada")
    form = policy_form("low", [("approver", "approved", 1)], months=24)
    before = entries()
    page = client.post("/administration/policies/low", form, follow=True)
    assert "unchanged: nothing recorded" in page.text
    assert entries() == before


@pytest.mark.parametrize(
    ("approval", "months", "says"),
    [
        ([], 12, "approval must list at least one required signature"),
        ([("auditor", "approved", 1)], 12, "auditor is not one of the available"),
        ([("approver", "authored", 1)], 12, "authored is not one of the available"),
        ([("approver", "approved", 11)], 12, "less than or equal to 10"),
        ([("approver", "approved", 1)], 0, "greater than or equal to 1"),
    ],
)
def test_a_bad_policy_is_explained_and_records_nothing(people, approval, months, says):
    before = entries()
    page = signed_in("ada").post(
        "/administration/policies/medium", policy_form("medium", approval, months)
    )
    assert page.status_code == 200
    assert "The policy was not changed" in page.text
    assert says in page.text
    assert entries() == before


def test_an_unknown_tier_is_404(people):
    page = signed_in("ada").post("/administration/policies/extreme", {})
    assert page.status_code == 404


# --- The Django admin stays read-only for ledger-backed data ------------------------------------

LEDGER_BACKED_APPS = {"accounts", "ledger", "registry", "lineage", "reports"}


def ledger_backed_admins() -> list[admin.ModelAdmin[Any]]:
    return [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in LEDGER_BACKED_APPS
    ]


def test_no_ledger_backed_model_can_be_added_changed_or_deleted_in_the_django_admin(people):
    superuser = get_user_model().objects.create_superuser("root", "root@bank.example", "pw")
    request = RequestFactory().get("/admin/")
    request.user = superuser
    model_admins = ledger_backed_admins()
    assert {type(a).__name__ for a in model_admins} >= {
        "EntryAdmin",
        "CheckpointAdmin",
        "PrincipalAdmin",
        "PolicyAdmin",
        "ModelVersionAdmin",
        "NodeAdmin",
    }
    for model_admin in model_admins:
        name = type(model_admin).__name__
        assert not model_admin.has_add_permission(request), name
        assert not model_admin.has_change_permission(request), name
        assert not model_admin.has_delete_permission(request), name
        assert "delete_selected" not in model_admin.get_actions(request), name


def test_a_superuser_posting_to_the_django_admin_changes_nothing(people):
    get_user_model().objects.create_superuser("root", "root@bank.example", "pw")
    client = Client()
    client.login(username="root", password="pw")
    dana = Principal.objects.get(actor_id="user:dana")
    entry = Entry.objects.get(seq=0)
    before = entries()
    change = {"printed_name": "Someone Else", "active": "on", "kind": "person"}
    assert client.post(f"/admin/accounts/principal/{dana.pk}/change/", change).status_code == 403
    assert (
        client.post(f"/admin/accounts/principal/{dana.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.post("/admin/accounts/principal/add/", change).status_code == 403
    client.post(
        "/admin/ledger/entry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert client.post("/admin/ledger/entry/0/change/", {"kind": "x"}).status_code == 403
    assert Principal.objects.get(pk=dana.pk).printed_name == "Dana Developer"
    assert entries() == before
    assert Entry.objects.get(seq=0).hash == entry.hash
