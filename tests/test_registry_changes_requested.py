"""A request for changes on a version in validation: a ledger fact with a required comment,
not a signature; it leaves the stage alone, closes when the version is corrected, and replays."""

import io

import pytest
from django.core.management import call_command

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.registry import selectors
from auditreg.registry.domain import Stage
from auditreg.registry.models import Signature
from auditreg.registry.services import signatures, versions
from tests.factories import make_model, make_package, make_version, reload, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_validation(people):
    return submit(people, make_version(people, make_model(people)))


def test_a_validator_requests_changes_without_signing(people, in_validation):
    entry = signatures.request_changes(
        version=in_validation, role=Role.VALIDATOR, comment="Add a vintage", by=people.vic
    )
    assert entry.kind == "changes.requested"
    assert entry.payload["package_digest"] == in_validation.package_digest
    assert reload(in_validation).stage == Stage.VALIDATION
    assert not Signature.objects.filter(signer="user:vic").exists()
    assert selectors.approval_missing(reload(in_validation)) == [
        "1 more validated by validator",
        "1 more approved by approver",
        "1 more approved by model risk committee",
    ]
    [request] = selectors.change_requests([reload(in_validation)])[in_validation.subject]
    assert request.open and request.printed_name == "Victor Validator"


def test_a_correction_answers_the_request(people, in_validation):
    signatures.request_changes(
        version=in_validation, role=Role.APPROVER, comment="Fix the schema", by=people.alice
    )
    versions.correct_version(
        version=in_validation,
        package=make_package(1, metrics={"auc": "0.85"}),
        reason="schema fixed",
        by=people.dana,
    )
    [request] = selectors.change_requests([reload(in_validation)])[in_validation.subject]
    assert not request.open


@pytest.mark.parametrize(
    ("who", "role", "comment", "reason"),
    [
        ("vic", Role.VALIDATOR, "  ", "comment is required"),
        ("vic", Role.APPROVER, "x", "needs the role approver"),
        ("olga", Role.AUDITOR, "x", "validator, an approver or the committee"),
        ("dana", Role.DEVELOPER, "x", "validator, an approver or the committee"),
    ],
)
def test_bad_requests_are_refused_and_record_nothing(
    people, in_validation, who, role, comment, reason
):
    from auditreg.ledger.models import Entry

    before = Entry.objects.count()
    with pytest.raises(DomainError, match=reason):
        signatures.request_changes(
            version=in_validation, role=role, comment=comment, by=getattr(people, who)
        )
    assert Entry.objects.count() == before


def test_the_developer_cannot_request_changes_of_their_own_version(people, in_validation):
    accounts.grant_role(principal=people.dana, role=Role.VALIDATOR, by=people.ada)
    dana = Principal.objects.get(actor_id="user:dana")  # with the role just granted
    with pytest.raises(DomainError, match="separation of duties"):
        signatures.request_changes(version=in_validation, role=Role.VALIDATOR, comment="x", by=dana)


def test_only_a_version_in_validation(people):
    version = make_version(people, make_model(people))
    with pytest.raises(DomainError, match="not in validation"):
        signatures.request_changes(version=version, role=Role.VALIDATOR, comment="x", by=people.vic)


def test_replay_rebuilds_the_registry_with_requests_for_changes(people, in_validation):
    signatures.request_changes(
        version=in_validation, role=Role.VALIDATOR, comment="Add a vintage", by=people.vic
    )
    out = io.StringIO()
    call_command("replay_ledger", "--check", stdout=out)
    assert "match" in out.getvalue().lower()
