"""L7: API tokens' recorded state is checked against the ledger. A token un-revoked,
extended or widened in the database alone was once not noticed by `replay_ledger --check`
and worked again."""

import pytest

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.accounts.models import ApiToken
from tests.conftest import raw
from tests.test_registry_replay import check_fails

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked(people) -> ApiToken:
    token, _ = accounts.issue_token(
        principal=people.trainer, name="job", scopes=[Scope.READ], days=30, by=people.ada
    )
    accounts.revoke_token(token=token, reason="leaked in a log", by=people.ada)
    return token


def test_a_token_unrevoked_in_the_database_is_reported(revoked):
    raw("UPDATE registry_apitoken SET revoked_at = NULL WHERE prefix = %s", [revoked.prefix])
    check_fails(f"token {revoked.prefix}: revoked_at is None in the table")


def test_a_token_widened_in_the_database_is_reported(revoked):
    raw(
        "UPDATE registry_apitoken SET scopes = %s WHERE prefix = %s",
        ['["ingest", "read"]', revoked.prefix],
    )
    check_fails(f"token {revoked.prefix}: scopes is ['ingest', 'read'] in the table")


def test_a_token_extended_in_the_database_is_reported(revoked):
    raw(
        "UPDATE registry_apitoken SET expires_at = %s WHERE prefix = %s",
        ["2099-01-01 00:00:00+00:00", revoked.prefix],
    )
    check_fails(f"token {revoked.prefix}: expires_at is datetime.datetime(2099")


def test_a_token_added_in_the_database_is_reported(revoked):
    raw(
        "INSERT INTO registry_apitoken (principal, name, prefix, digest, scopes, created_at,"
        " expires_at, revoked_at, issued_seq) SELECT principal, 'forged', 'f0f0f0f0f0f0',"
        " digest, scopes, created_at, expires_at, NULL, issued_seq FROM registry_apitoken"
        " WHERE prefix = %s",
        [revoked.prefix],
    )
    check_fails("token f0f0f0f0f0f0: in the table but not in the ledger")


def test_tokens_as_issued_and_revoked_match(revoked, people):
    from django.core.management import call_command

    accounts.issue_token(
        principal=people.trainer, name="live", scopes=[Scope.INGEST], days=5, by=people.ada
    )
    call_command("replay_ledger", "--check")
