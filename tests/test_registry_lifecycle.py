"""Registration, lifecycle stages, use-case authorizations, rollback and monitoring: each
rule with a test that tries to get past it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger import services as ledger
from auditreg.ledger.models import Entry
from auditreg.registry.domain import Meaning, RiskTier, Stage
from auditreg.registry.models import Authorization, ModelVersion, RegisteredModel
from auditreg.registry.queries import as_of, usable_version
from auditreg.registry.services import authorizations, monitoring, policies, versions
from tests.factories import (
    approve,
    authorize,
    deploy,
    make_model,
    make_package,
    make_use_case,
    make_version,
    reload,
    sign,
)


def refused(match: str):
    return pytest.raises(DomainError, match=match)


@pytest.fixture
def model(people):
    return make_model(people)


@pytest.fixture
def use_case(people, model):
    return make_use_case(people, model)


@pytest.fixture
def approved(people, model):
    return approve(people, make_version(people, model))


# --- Registration ------------------------------------------------------------------------------


def test_registering_the_same_package_twice_records_it_once(people, model):
    first, created = versions.register_version(
        model=model, package=make_package(), by=people.trainer
    )
    size = ledger.tree_size()
    again, created_again = versions.register_version(
        model=model, package=make_package(), by=people.trainer
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert ledger.tree_size() == size
    assert first.subject == "model:credit-pd/1"


def test_versions_are_numbered_per_model(people, model):
    assert make_version(people, model, 1).subject == "model:credit-pd/1"
    assert make_version(people, model, 2).subject == "model:credit-pd/2"
    other = make_model(people, "stroke-lvo")
    assert make_version(people, other, 3).subject == "model:stroke-lvo/1"


def test_registering_a_model_again_with_other_facts_is_refused(people, model):
    assert make_model(people).pk == model.pk  # same facts: idempotent
    with refused("already registered with other facts"):
        versions.register_model(
            slug="credit-pd",
            name="Other",
            owner="x",
            domain="x",
            risk_tier=RiskTier.LOW,
            intended_purpose="x",
            limitations="x",
            by=people.dana,
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"artifact": {"uri": "s3://m", "digest": "md5:abc"}}, "64 lower-case hex"),
        ({"artifact": {"uri": "s3://m", "digest": "sha256:" + "A" * 64}}, "lower-case hex"),
        ({"metrics": {"auc": 0.84}}, "decimal number written as a string"),
        ({"code": {"commit": "abc123"}}, "full git commit id"),
        ({"code": {"authors": ["dana"]}}, "is not a principal"),
        ({"weights": "x"}, "unknown fields: weights"),
        ({"flavor": ""}, "package.flavor is required"),
        ({"data": [{"snapshot": "dataset:x", "digest": "sha256:1"}]}, "64 lower-case hex"),
    ],
)
def test_malformed_package_is_refused_and_changes_nothing(people, model, change, reason):
    size = ledger.tree_size()
    with refused(reason):
        versions.register_version(model=model, package=make_package(**change), by=people.trainer)
    assert ledger.tree_size() == size
    assert not ModelVersion.objects.exists()


def test_bad_model_slug_is_refused(people):
    with refused("lower-case letters, digits and hyphens"):
        make_model(people, "Credit PD")
    assert not RegisteredModel.objects.exists()


def test_risk_tier_change_needs_the_committee(people, model):
    with refused("cannot change a model's risk tier"):
        versions.correct_model(
            model=model, changes={"risk_tier": "low"}, reason="x", by=people.dana
        )
    corrected = versions.correct_model(
        model=model,
        changes={"risk_tier": "medium"},
        reason="MRC-2026-11 re-tiering",
        by=people.marc,
    )
    assert corrected.risk_tier == "medium"
    assert Entry.objects.filter(kind="model.corrected").count() == 1


# --- Stages ------------------------------------------------------------------------------------


def test_illegal_transition_is_refused_with_the_allowed_ones(people, model):
    version = make_version(people, model)
    with refused("is development; it cannot move to production .allowed: retired"):
        deploy(people, version)


def test_transition_to_approved_without_signatures_is_impossible(people, model):
    version = make_version(people, model)
    sign(people.dana, version, Meaning.AUTHORED, Role.DEVELOPER)
    sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)
    with refused("allowed: none by hand"):
        versions.change_stage(version=version, to=Stage.APPROVED, reason="x", by=people.ada)
    sign(people.alice, version, Meaning.APPROVED, Role.APPROVER)
    assert reload(version).stage == Stage.VALIDATION  # the committee has not signed


def test_low_tier_needs_one_approval(people):
    model = make_model(people, "marketing-uplift", RiskTier.LOW)
    version = make_version(people, model, 9)
    sign(people.dana, version, Meaning.AUTHORED, Role.DEVELOPER)
    sign(people.alice, version, Meaning.APPROVED, Role.APPROVER)
    assert reload(version).stage == Stage.APPROVED


def test_production_needs_an_authorization_in_force(people, approved, use_case):
    with refused("no authorization in force"):
        deploy(people, approved)
    deploy(people, approved, Stage.SHADOW)  # shadowing serves no decisions
    authorize(people, approved, use_case)
    assert deploy(people, reload(approved)).stage == Stage.PRODUCTION


def test_entering_production_deprecates_the_previous_production_version(
    people, model, approved, use_case
):
    authorize(people, approved, use_case)
    deploy(people, approved)
    second = approve(people, make_version(people, model, 2))
    authorize(people, second, use_case, fallback=approved)
    deploy(people, second)
    assert reload(approved).stage == Stage.DEPRECATED
    assert list(ModelVersion.objects.filter(stage=Stage.PRODUCTION)) == [reload(second)]


def test_developer_cannot_retire_and_auditor_cannot_deploy(people, approved):
    with refused("needs the role"):
        versions.change_stage(version=approved, to=Stage.RETIRED, reason="x", by=people.dana)
    with refused("needs the role"):
        versions.change_stage(version=approved, to=Stage.SHADOW, reason="x", by=people.olga)


# --- Authorizations ----------------------------------------------------------------------------


def test_authorization_is_in_force_only_once_the_policy_signatures_are_given(
    people, approved, use_case
):
    proposal = authorizations.propose_authorization(
        version=approved, use_case=use_case, effective_on=timezone.localdate(), by=people.dana
    )
    sign(people.alice, proposal, Meaning.APPROVED, Role.APPROVER)
    assert Authorization.objects.get(pk=proposal.pk).status == "proposed"
    assert usable_version(use_case, timezone.now(), by=people.olga) is None
    sign(people.marc, proposal, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE)
    assert Authorization.objects.get(pk=proposal.pk).status == "active"


def test_proposer_cannot_sign_the_authorization(people, approved, use_case):
    accounts.grant_role(principal=people.alice, role=Role.DEVELOPER, by=people.ada)
    alice = accounts.principal_for(people.alice)
    proposal = authorizations.propose_authorization(
        version=approved, use_case=use_case, effective_on=timezone.localdate(), by=alice
    )
    with refused("separation of duties"):
        sign(alice, proposal, Meaning.APPROVED, Role.APPROVER)


def test_unapproved_version_cannot_be_proposed(people, model, use_case):
    with refused("only approved versions"):
        authorizations.propose_authorization(
            version=make_version(people, model),
            use_case=use_case,
            effective_on=timezone.localdate(),
            by=people.dana,
        )


def test_backdated_or_overlong_authorization_is_refused(people, approved, use_case):
    today = timezone.localdate()
    with refused("effective date must be today"):
        authorizations.propose_authorization(
            version=approved,
            use_case=use_case,
            effective_on=today - timedelta(days=1),
            by=people.dana,
        )
    with refused("allows 12 months before review"):
        authorizations.propose_authorization(
            version=approved,
            use_case=use_case,
            effective_on=today,
            expires_on=today + timedelta(days=400),
            by=people.dana,
        )


def test_default_expiry_is_the_policy_review_interval(people, approved, use_case):
    authorization = authorize(people, approved, use_case)
    today = timezone.localdate()
    assert authorization.effective_on == today
    assert today.replace(year=today.year + 1) - timedelta(days=1) >= authorization.expires_on
    assert authorization.expires_on >= today + timedelta(days=364)


def test_replayed_proposal_is_refused(people, approved, use_case):
    authorize(people, approved, use_case)
    with refused("already proposed or authorized"):
        authorize(people, approved, use_case)
    assert Authorization.objects.count() == 1


def test_authorization_stops_being_usable_when_it_expires(clock, people, approved, use_case):
    authorize(people, approved, use_case, expires_on=timezone.localdate() + timedelta(days=10))
    deploy(people, approved, Stage.CANARY)
    assert usable_version(use_case, timezone.now(), by=people.olga) is None  # canary only
    deploy(people, reload(approved))
    in_force = timezone.now()
    assert usable_version(use_case, in_force, by=people.olga) == approved.subject
    clock.advance(days=11)
    assert usable_version(use_case, timezone.now(), by=people.olga) is None
    answer = as_of(timezone.now(), by=people.olga).use_case(use_case.slug)
    assert (answer.production, answer.in_use, answer.authorizations) == (approved.subject, None, ())
    assert usable_version(use_case, in_force, by=people.olga) == approved.subject


def test_expired_authorization_cannot_put_a_version_into_production(
    clock, people, approved, use_case
):
    authorize(people, approved, use_case, expires_on=timezone.localdate() + timedelta(days=10))
    clock.advance(days=11)
    with refused("no authorization in force"):
        deploy(people, approved)


def test_revoked_authorization_is_not_usable(people, approved, use_case):
    authorization = authorize(people, approved, use_case)
    deploy(people, approved)
    with refused("comment is required"):
        sign(people.marc, authorization, Meaning.REVOKED, Role.MODEL_RISK_COMMITTEE, comment="")
    sign(people.marc, authorization, Meaning.REVOKED, Role.MODEL_RISK_COMMITTEE, "Fair lending")
    revoked = Authorization.objects.get(pk=authorization.pk)
    assert (revoked.status, revoked.revocation_reason) == ("revoked", "Fair lending")
    assert usable_version(use_case, timezone.now(), by=people.olga) is None


def test_production_version_is_not_usable_for_a_use_it_is_not_authorized_for(
    people, model, approved, use_case
):
    other_use = make_use_case(people, model, "collections-pd")
    authorize(people, approved, use_case)
    deploy(people, approved)
    assert usable_version(use_case, timezone.now(), by=people.olga) == approved.subject
    assert usable_version(other_use, timezone.now(), by=people.olga) is None


def test_version_of_another_model_cannot_be_authorized(people, use_case):
    other = approve(people, make_version(people, make_model(people, "fraud"), 5))
    with refused("is not a version of credit-pd"):
        authorizations.propose_authorization(
            version=other, use_case=use_case, effective_on=timezone.localdate(), by=people.dana
        )


# --- Rollback ----------------------------------------------------------------------------------


@pytest.fixture
def two_in_a_row(people, model, approved, use_case):
    authorize(people, approved, use_case)
    deploy(people, approved)
    second = approve(people, make_version(people, model, 2))
    authorize(people, second, use_case, fallback=reload(approved))
    deploy(people, second)
    return reload(approved), reload(second)


def test_rollback_restores_the_authorized_fallback(people, use_case, two_in_a_row):
    first, second = two_in_a_row
    before = timezone.now()
    authorizations.rollback(use_case=use_case, reason="PSI breach", by=people.alice)
    assert (reload(first).stage, reload(second).stage) == (Stage.PRODUCTION, Stage.DEPRECATED)
    assert usable_version(use_case, timezone.now(), by=people.olga) == first.subject
    assert usable_version(use_case, before, by=people.olga) == second.subject


def test_rollback_to_a_revoked_fallback_is_refused(people, use_case, two_in_a_row):
    first, second = two_in_a_row
    sign(people.marc, first.authorizations.get(), Meaning.REVOKED, Role.MODEL_RISK_COMMITTEE, "x")
    with refused("no longer authorized"):
        authorizations.rollback(use_case=use_case, reason="PSI breach", by=people.alice)
    assert reload(second).stage == Stage.PRODUCTION


def test_fallback_must_be_authorized_for_the_use_case(people, model, approved, use_case):
    second = approve(people, make_version(people, model, 2))
    with refused("has no authorization in force"):
        authorize(people, second, use_case, fallback=approved)


def test_rollback_without_a_fallback_is_refused(people, approved, use_case):
    authorize(people, approved, use_case)
    deploy(people, approved)
    with refused("no fallback"):
        authorizations.rollback(use_case=use_case, reason="x", by=people.alice)
    with refused("needs the role"):
        authorizations.rollback(use_case=use_case, reason="x", by=people.dana)


# --- Monitoring --------------------------------------------------------------------------------


def test_breach_requires_review_everywhere_until_a_validator_signs_it(
    people, approved, use_case, model
):
    authorize(people, approved, use_case)
    deploy(people, approved)
    monitoring.set_threshold(model=model, metric="psi", upper="0.25", by=people.vic)
    today = timezone.localdate()
    ok = monitoring.record_monitoring(
        version=approved,
        metric="psi",
        value="0.25",
        window_start=today,
        window_end=today,
        by=people.trainer,
    )
    assert not ok.breach
    breach = monitoring.record_monitoring(
        version=approved,
        metric="psi",
        value="0.31",
        window_start=today,
        window_end=today,
        segment="thin-file",
        by=people.trainer,
    )
    assert breach.breach
    threshold = Entry.objects.get(kind="threshold.set")
    assert breach.threshold == {
        "segment": "all",
        "lower": None,
        "upper": "0.25",
        "set_seq": threshold.seq,
    }
    version = reload(approved)
    assert version.review_required
    assert "review required" in str(version)
    assert as_of(timezone.now(), by=people.olga).versions[version.subject].review_required
    with refused("monitoring review outstanding"):
        authorizations.propose_authorization(
            version=version,
            use_case=make_use_case(people, model, "other"),
            effective_on=today,
            by=people.dana,
        )
    with refused("separation of duties"):  # dana built it
        accounts.grant_role(principal=people.dana, role=Role.VALIDATOR, by=people.ada)
        sign(accounts.principal_for(people.dana), version, Meaning.REVIEWED, Role.VALIDATOR)
    sign(people.vic, version, Meaning.REVIEWED, Role.VALIDATOR, "Segment drift explained")
    assert not reload(approved).review_required
    assert not as_of(timezone.now(), by=people.olga).versions[version.subject].review_required


@pytest.mark.parametrize(
    ("value", "reason"),
    [(0.31, "decimal number"), ("NaN", "decimal number"), ("1,5", "decimal number")],
)
def test_bad_monitoring_figures_are_refused(people, approved, use_case, value, reason):
    authorize(people, approved, use_case)
    deploy(people, approved)
    today = timezone.localdate()
    size = ledger.tree_size()
    with refused(reason):
        monitoring.record_monitoring(
            version=approved,
            metric="psi",
            value=value,
            window_start=today,
            window_end=today,
            by=people.trainer,
        )
    assert ledger.tree_size() == size


def test_monitoring_window_in_the_future_or_twice_is_refused(people, approved, use_case):
    authorize(people, approved, use_case)
    deploy(people, approved)
    today = timezone.localdate()
    with refused("not in the future"):
        monitoring.record_monitoring(
            version=approved,
            metric="psi",
            value="0.1",
            window_start=today,
            window_end=today + timedelta(days=1),
            by=people.trainer,
        )
    monitoring.record_monitoring(
        version=approved,
        metric="psi",
        value="0.1",
        window_start=today,
        window_end=today,
        by=people.trainer,
    )
    with refused("already recorded"):
        monitoring.record_monitoring(
            version=approved,
            metric="psi",
            value="0.1",
            window_start=today,
            window_end=today,
            by=people.trainer,
        )


def test_monitoring_a_version_not_in_use_is_refused(people, approved):
    today = timezone.localdate()
    with refused("not in use"):
        monitoring.record_monitoring(
            version=approved,
            metric="psi",
            value="0.1",
            window_start=today,
            window_end=today,
            by=people.trainer,
        )


# --- Roles -------------------------------------------------------------------------------------


def test_no_role_sees_nothing_and_the_auditor_reads_but_cannot_write(people, model):
    with refused("cannot read the registry"):
        as_of(timezone.now(), by=people.mallory)
    assert [m.slug for m in as_of(timezone.now(), by=people.olga).models] == ["credit-pd"]
    with refused("cannot register model versions"):
        versions.register_version(model=model, package=make_package(), by=people.olga)
    with refused("cannot register models"):
        versions.register_model(
            slug="x",
            name="x",
            owner="x",
            domain="x",
            risk_tier=RiskTier.LOW,
            intended_purpose="x",
            limitations="x",
            by=people.mallory,
        )


def test_deactivated_principal_cannot_act(people, model):
    accounts.set_active(principal=people.trainer, active=False, reason="rotated", by=people.ada)
    trainer = Principal.objects.get(actor_id="service:trainer")
    with refused("deactivated"):
        versions.register_version(model=model, package=make_package(), by=trainer)


def test_only_administrators_enroll_and_grant(people):
    with refused("cannot enroll people"):
        accounts.enroll_person(
            username="eve", printed_name="Eve", roles=[Role.APPROVER], by=people.alice
        )
    with refused("cannot grant roles"):
        accounts.grant_role(principal=people.alice, role=Role.VALIDATOR, by=people.alice)


def test_policy_changes_are_ledger_entries_and_idempotent(people):
    size = ledger.tree_size()
    policies.set_policy(
        risk_tier=RiskTier.LOW, **policies.DEFAULT_POLICIES[RiskTier.LOW], by=people.marc
    )
    assert ledger.tree_size() == size
    stricter = {**policies.DEFAULT_POLICIES[RiskTier.LOW], "review_months": 6}
    policies.set_policy(risk_tier=RiskTier.LOW, **stricter, by=people.marc)
    assert Entry.objects.get(seq=size).kind == "policy.set"
    with refused("cannot set policies"):
        policies.set_policy(risk_tier=RiskTier.LOW, **stricter, by=people.alice)
    with refused("does not sign decisions"):
        policies.set_policy(
            risk_tier=RiskTier.LOW,
            approval=[{"role": "auditor", "meaning": "approved", "count": 1}],
            authorization=[{"role": "approver", "meaning": "approved"}],
            review_months=12,
            by=people.marc,
        )


def test_authorization_cannot_be_completed_for_a_version_retired_meanwhile(
    people, approved, use_case
):
    proposal = authorizations.propose_authorization(
        version=approved, use_case=use_case, effective_on=timezone.localdate(), by=people.dana
    )
    sign(people.alice, proposal, Meaning.APPROVED, Role.APPROVER)
    versions.change_stage(version=approved, to=Stage.RETIRED, reason="withdrawn", by=people.alice)
    with refused("is retired; it cannot be authorized now"):
        sign(people.marc, proposal, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE)
    assert Authorization.objects.get(pk=proposal.pk).status == "proposed"


def test_a_proposal_for_a_version_retired_meanwhile_can_still_be_rejected(
    people, approved, use_case
):
    proposal = authorizations.propose_authorization(
        version=approved, use_case=use_case, effective_on=timezone.localdate(), by=people.dana
    )
    versions.change_stage(version=approved, to=Stage.RETIRED, reason="withdrawn", by=people.alice)
    sign(people.alice, proposal, Meaning.REJECTED, Role.APPROVER, "Version withdrawn")
    assert Authorization.objects.get(pk=proposal.pk).status == "rejected"
