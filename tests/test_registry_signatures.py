"""Electronic signatures (21 CFR 11.50, 11.70, 11.100, 11.200) and separation of duties:
each test tries to get a signature counted that must not count."""

import pytest

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.errors import DomainError
from auditreg.facts import replay
from auditreg.ledger import services as ledger
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import sha256_of
from auditreg.proofs.entry import Actor
from auditreg.registry import selectors
from auditreg.registry.domain import Meaning, Stage
from auditreg.registry.models import Signature, SigningFailure
from auditreg.registry.services import signatures, versions
from tests.factories import (
    approve,
    make_model,
    make_package,
    make_version,
    password,
    reload,
    sign,
    submit,
)


@pytest.fixture
def in_validation(people):
    return submit(people, make_version(people, make_model(people)))


def refused(match: str):
    return pytest.raises(DomainError, match=match)


def test_signature_manifests_name_time_zone_meaning_and_binds_to_content(people, in_validation):
    signature = sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR, "VAL-2026-31")
    assert signature.printed_name == "Victor Validator"
    assert signature.username == "vic"
    assert signature.meaning == "validated"
    assert signature.role == "validator"
    assert signature.comment == "VAL-2026-31"
    assert signature.time_zone == "America/New_York"
    entry = Entry.objects.get(seq=signature.seq)
    signed_at = entry.payload["signed_at"]
    assert signed_at.endswith(("-05:00", "-04:00"))  # local time with its offset
    content = entry.payload["content"]
    assert content == {
        "record": in_validation.subject,
        "facts": in_validation.package_digest,
        "decision": {"meaning": "validated", "role": "validator", "stage": "validation"},
    }
    assert entry.payload["content_sha256"] == sha256_of(content) == signature.content_sha256
    assert signature.binding_valid


def test_signing_shown_content_hash_succeeds(people, in_validation):
    shown = signatures.content_to_sign(
        record=in_validation, meaning=Meaning.VALIDATED, role=Role.VALIDATOR
    )
    signature = sign(
        people.vic,
        in_validation,
        Meaning.VALIDATED,
        Role.VALIDATOR,
        content_sha256=sha256_of(shown),
    )
    assert signature.content == shown


def test_wrong_password_is_refused_and_the_attempt_recorded(people, in_validation):
    before = ledger.tree_size()
    with refused("password is not correct"):
        signatures.sign(
            record=in_validation,
            meaning=Meaning.VALIDATED,
            role=Role.VALIDATOR,
            password="guess",
            by=people.vic,
        )
    assert not Signature.objects.filter(subject=in_validation.subject, signer="user:vic").exists()
    failure = SigningFailure.objects.get()
    assert (failure.signer, failure.subject, failure.meaning) == (
        "user:vic",
        in_validation.subject,
        "validated",
    )
    assert "password" in failure.reason
    assert ledger.tree_size() == before + 1
    assert Entry.objects.get(seq=before).kind == "signature.failed"


def test_a_session_alone_is_not_enough_to_sign(people, in_validation):
    with refused("password is not correct"):
        signatures.sign(
            record=in_validation,
            meaning=Meaning.VALIDATED,
            role=Role.VALIDATOR,
            password=None,  # type: ignore[arg-type]
            by=people.vic,
        )


def test_inactive_user_cannot_sign(people, in_validation):
    accounts.set_active(principal=people.vic, active=False, reason="left the bank", by=people.ada)
    vic = accounts.principal_for(people.vic)
    with refused("deactivated"):
        sign(vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    assert SigningFailure.objects.filter(signer="user:vic").exists()
    assert reload(in_validation).stage == Stage.VALIDATION


def test_django_account_disabled_outside_the_registry_cannot_sign(people, in_validation):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="vic").update(is_active=False)
    with refused("deactivated"):
        sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)


def test_service_principal_cannot_sign(people, in_validation):
    with refused("only people sign"):
        signatures.sign(
            record=in_validation,
            meaning=Meaning.VALIDATED,
            role=Role.DEVELOPER,
            password="x",
            by=people.trainer,
        )


def test_registrant_cannot_validate_their_own_version(people):
    accounts.grant_role(principal=people.vic, role=Role.DEVELOPER, by=people.ada)
    vic = accounts.principal_for(people.vic)
    model = make_model(people)
    version, _ = versions.register_version(model=model, package=make_package(7), by=vic)
    submit(people, version)
    with refused("separation of duties"):
        sign(vic, version, Meaning.VALIDATED, Role.VALIDATOR)


@pytest.mark.parametrize("authored", ["code", "training_run"])
def test_author_of_the_code_or_run_cannot_validate(people, authored):
    package = make_package(3)
    package[authored] = {**package[authored], "authors": ["user:vic"]}
    version, _ = versions.register_version(
        model=make_model(people), package=package, by=people.trainer
    )
    submit(people, version)
    with refused("separation of duties"):
        sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)


def test_submitter_cannot_approve(people):
    accounts.grant_role(principal=people.dana, role=Role.APPROVER, by=people.ada)
    dana = accounts.principal_for(people.dana)
    version = make_version(people, make_model(people))
    sign(dana, version, Meaning.AUTHORED, Role.DEVELOPER)
    sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)
    with refused("separation of duties"):
        sign(dana, version, Meaning.APPROVED, Role.APPROVER)


def test_one_person_cannot_fill_two_required_roles(people, in_validation):
    sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    sign(people.tess, in_validation, Meaning.APPROVED, Role.APPROVER)
    with refused("already signed this decision"):
        sign(people.tess, in_validation, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE)
    assert reload(in_validation).stage == Stage.VALIDATION
    assert selectors.approval_missing(reload(in_validation)) == [
        "1 more approved by model risk committee"
    ]


def test_signing_in_a_role_not_held_is_refused(people, in_validation):
    with refused("cannot sign as validator"):
        sign(people.alice, in_validation, Meaning.VALIDATED, Role.VALIDATOR)


def test_role_the_policy_has_no_place_for_is_refused(people, in_validation):
    with refused("policy has no place for validated by approver"):
        sign(people.alice, in_validation, Meaning.VALIDATED, Role.APPROVER)


def test_approvals_wait_for_the_validation_sign_off(people, in_validation):
    with refused("needs its validation sign-off before approvals"):
        sign(people.alice, in_validation, Meaning.APPROVED, Role.APPROVER)


def test_replayed_signing_request_records_one_signature(people, in_validation):
    sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    with refused("already signed"):
        sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    assert Signature.objects.filter(subject=in_validation.subject, signer="user:vic").count() == 1


def test_auditor_and_no_role_cannot_sign(people, in_validation):
    with refused("cannot sign as validator"):
        sign(people.olga, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    with refused("cannot sign as approver"):
        sign(people.mallory, in_validation, Meaning.APPROVED, Role.APPROVER)


def test_rejection_needs_a_reason_and_ends_the_version(people, in_validation):
    with refused("comment is required"):
        sign(people.vic, in_validation, Meaning.REJECTED, Role.VALIDATOR, comment=" ")
    sign(people.vic, in_validation, Meaning.REJECTED, Role.VALIDATOR, comment="KS below benchmark")
    version = reload(in_validation)
    assert version.stage == Stage.REJECTED
    with refused("not in validation"):
        sign(people.alice, version, Meaning.APPROVED, Role.APPROVER)


def test_policy_complete_moves_the_version_to_approved_exactly_once(people, in_validation):
    version = approve(people, in_validation)
    assert version.stage == Stage.APPROVED
    changes = Entry.objects.filter(subject=version.subject, kind="stage.changed")
    assert [entry.payload["to"] for entry in changes] == ["validation", "approved"]


# --- A signature cannot be moved to another record ---------------------------------------------


def test_content_hash_of_another_record_is_refused_and_recorded(people, in_validation):
    other = submit(people, make_version(people, in_validation.model, 2))
    shown_for_other = sha256_of(
        signatures.content_to_sign(record=other, meaning=Meaning.VALIDATED, role=Role.VALIDATOR)
    )
    with refused("reload it and sign again"):
        sign(
            people.vic,
            in_validation,
            Meaning.VALIDATED,
            Role.VALIDATOR,
            content_sha256=shown_for_other,
        )
    assert not Signature.objects.filter(signer="user:vic").exists()
    assert SigningFailure.objects.filter(subject=in_validation.subject).exists()


def test_signature_copied_onto_another_record_in_the_ledger_counts_for_nothing(
    people, in_validation
):
    """Someone with write access appends a copy of a real signature entry onto another
    version: replay flags it, the policy does not count it, the live tables disagree."""
    real = sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    other = submit(people, make_version(people, in_validation.model, 2))
    copied = Entry.objects.get(seq=real.seq).payload
    ledger.append(
        kind="signature.signed",
        subject=other.subject,
        payload=copied,
        actor=Actor("user:vic", "Victor Validator"),
    )
    result = replay.check()
    assert any("bound to other content" in anomaly for anomaly in result.anomalies)
    assert any(f"signature {ledger.tree_size() - 1}" in d for d in result.differences)
    assert selectors.approval_missing(reload(other))[0] == "1 more validated by validator"


def test_correcting_the_facts_voids_signatures_bound_to_the_old_ones(people, in_validation):
    sign(people.vic, in_validation, Meaning.VALIDATED, Role.VALIDATOR)
    shown = sha256_of(
        signatures.content_to_sign(
            record=in_validation, meaning=Meaning.APPROVED, role=Role.APPROVER
        )
    )
    corrected = versions.correct_version(
        version=in_validation,
        package=make_package(1, metrics={"auc": "0.81"}),
        reason="AUC was computed on the training sample",
        by=people.dana,
    )
    assert selectors.approval_missing(corrected)[0] == "1 more validated by validator"
    sign(people.vic, corrected, Meaning.VALIDATED, Role.VALIDATOR)  # validates the new facts
    with refused("reload it and sign again"):
        sign(people.alice, corrected, Meaning.APPROVED, Role.APPROVER, content_sha256=shown)


def test_approved_facts_cannot_be_corrected(people, in_validation):
    version = approve(people, in_validation)
    with refused("its facts are final"):
        versions.correct_version(
            version=version, package=make_package(1, flavor="xgboost"), reason="x", by=people.dana
        )


def test_failed_attempts_replay_into_the_same_tables(people, in_validation):
    with refused("password"):
        signatures.sign(
            record=in_validation,
            meaning=Meaning.VALIDATED,
            role=Role.VALIDATOR,
            password=password("alice"),
            by=people.vic,
        )
    assert replay.check().clean
