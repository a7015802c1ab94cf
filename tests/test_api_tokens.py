"""Service principals' API tokens: issued once, stored hashed, scoped, expiring, revocable."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role, Scope
from auditreg.accounts.models import ApiToken, Principal
from auditreg.errors import DomainError
from auditreg.ledger.models import Entry

URL = "/api/v1/checkpoints/latest"


@pytest.fixture
def signed(people):
    call_command("checkpoint", stdout=io.StringIO())


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def issue(people, *scopes: Scope, days: int = 90) -> str:
    _, token = accounts.issue_token(
        principal=people.trainer, name="nightly", scopes=list(scopes), days=days, by=people.ada
    )
    return token


def test_command_prints_the_token_once_and_stores_only_its_hash(db):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_service_token",
        "--name",
        "trainer",
        "--scopes",
        "ingest,read",
        stdout=out,
        stderr=err,
    )
    token = out.getvalue().strip()
    row = ApiToken.objects.get()
    assert token.startswith(f"ar_{row.prefix}_")
    assert token not in repr(list(ApiToken.objects.values()))
    assert token not in repr([bytes(e.body) for e in Entry.objects.all()])
    assert row.scopes == ["ingest", "read"]
    assert Principal.objects.get(actor_id="service:trainer").kind == "service"
    assert Entry.objects.filter(kind="token.issued", subject="service:trainer").count() == 1
    assert "not shown again" in err.getvalue()


def test_command_refuses_an_unknown_scope(db):
    with pytest.raises(CommandError, match="scope 'admin' is not one of: ingest, read"):
        call_command("create_service_token", "--name", "trainer", "--scopes", "admin")
    assert not ApiToken.objects.exists()


def test_read_token_reads_the_latest_checkpoint(people, signed):
    answer = client_with(issue(people, Scope.READ)).get(URL)
    assert answer.status_code == 200
    assert answer.json()["tree_size"] == Entry.objects.count() - 1  # before the token.issued
    assert answer.json()["note"].startswith("auditreg.test/ledger\n")


def test_ingest_only_token_cannot_read(people, signed):
    answer = client_with(issue(people, Scope.INGEST)).get(URL)
    assert answer.status_code == 403
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == "this API token lacks the 'read' scope"


@pytest.mark.parametrize(
    "token",
    ["", "ar_000000000000_nope", "not-a-token", "ar_x"],
)
def test_unknown_or_malformed_token_is_401_with_a_bearer_challenge(people, signed, token):
    answer = client_with(token).get(URL)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="auditreg"'
    assert answer.json()["status"] == 401


def test_forged_secret_with_a_real_prefix_is_401(people, signed):
    token = issue(people, Scope.READ)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client_with(forged).get(URL).status_code == 401


def test_expired_token_is_401(people, signed, clock, caplog):
    clock.now = Entry.objects.latest("seq").recorded_at
    token = issue(people, Scope.READ, days=1)
    clock.advance(days=1, seconds=1)
    answer = client_with(token).get(URL)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "invalid or inactive token"
    assert "has expired" in caplog.text


def test_revoked_token_is_401(people, signed, caplog):
    token = issue(people, Scope.READ)
    accounts.revoke_token(token=ApiToken.objects.get(), reason="leaked in a log", by=people.ada)
    answer = client_with(token).get(URL)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "invalid or inactive token"
    assert "has been revoked" in caplog.text
    assert Entry.objects.filter(kind="token.revoked").count() == 1


def test_token_of_a_deactivated_service_is_401(people, signed):
    token = issue(people, Scope.READ)
    accounts.set_active(principal=people.trainer, active=False, reason="retired", by=people.ada)
    assert client_with(token).get(URL).status_code == 401


def test_no_credentials_is_401(signed):
    assert APIClient().get(URL).status_code == 401


def test_only_administrators_issue_tokens_and_only_to_services(people):
    with pytest.raises(DomainError, match="cannot issue API tokens"):
        accounts.issue_token(
            principal=people.trainer, name="x", scopes=[Scope.READ], by=people.alice
        )
    with pytest.raises(DomainError, match="not a service principal"):
        accounts.issue_token(principal=people.alice, name="x", scopes=[Scope.READ], by=people.ada)
    with pytest.raises(DomainError, match="from 1 to 365 days"):
        accounts.issue_token(
            principal=people.trainer, name="x", scopes=[Scope.READ], days=400, by=people.ada
        )
    assert not ApiToken.objects.exists()


def test_signed_in_person_reads_with_a_session(people, signed, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="olga"))
    assert client.get(URL).status_code == 200


def test_token_lifetime_is_recorded_in_the_ledger(people):
    issue(people, Scope.INGEST, days=30)
    entry = Entry.objects.get(kind="token.issued")
    row = ApiToken.objects.get()
    assert entry.payload["token"] == row.prefix
    assert entry.payload["scopes"] == ["ingest"]
    assert row.expires_at - row.created_at <= timedelta(days=30)


def test_a_secret_containing_underscores_authenticates(people, signed, monkeypatch):
    monkeypatch.setattr("secrets.token_urlsafe", lambda n: "a_b_" + "c" * 40)
    token = issue(people, Scope.READ)
    assert token.count("_") == 4
    assert client_with(token).get(URL).status_code == 200


def test_refused_tokens_all_get_the_same_answer_and_the_log_keeps_the_reason(
    people, signed, clock, caplog
):
    """Whoever holds a leaked token must not learn whether it was real: unknown, expired,
    revoked, or of a deactivated service, the 401 reads the same. The operator's log says
    which, naming the token's prefix, never its secret."""
    clock.now = Entry.objects.latest("seq").recorded_at
    expired = issue(people, Scope.READ, days=1)
    clock.advance(days=1, seconds=1)
    revoked_row, revoked = accounts.issue_token(
        principal=people.trainer, name="leaked", scopes=[Scope.READ], by=people.ada
    )
    accounts.revoke_token(token=revoked_row, reason="leaked in a log", by=people.ada)
    scorer = accounts.enroll_service(
        name="scorer", printed_name="Scoring service", roles=[Role.DEVELOPER], by=people.ada
    )
    _, retired = accounts.issue_token(
        principal=scorer, name="scoring", scopes=[Scope.READ], by=people.ada
    )
    accounts.set_active(principal=scorer, active=False, reason="retired", by=people.ada)
    tokens = {
        "unknown": "ar_000000000000_nope",
        "forged": revoked[:-4] + ("AAAA" if not revoked.endswith("AAAA") else "BBBB"),
        "malformed": "not-a-token",
        "expired": expired,
        "revoked": revoked,
        "deactivated": retired,
    }
    answers = {name: client_with(token).get(URL) for name, token in tokens.items()}
    assert {answer.status_code for answer in answers.values()} == {401}
    bodies = {answer.content for answer in answers.values()}
    assert len(bodies) == 1, bodies
    assert answers["revoked"].json()["detail"] == "invalid or inactive token"
    for reason in ("unknown", "expired", "revoked", "deactivated"):
        assert reason in caplog.text
    for token in tokens.values():
        secret = token.split("_", 2)[-1]
        assert len(secret) < 20 or secret not in caplog.text
