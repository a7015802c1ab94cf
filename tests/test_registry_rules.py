"""The registry's rules, each written once (`auditreg.registry.rules`): the pure rules with
plain values, and, against the real services, that the decisions the portal offers are
exactly those the signing service accepts, for every role, tier and record state."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.registry import rules, selectors
from auditreg.registry.domain import (
    AuthorizationStatus,
    Meaning,
    Requirement,
    RiskTier,
    Stage,
    stored_requirements,
)
from auditreg.registry.models import Authorization, ModelVersion, RegisteredModel, UseCase
from auditreg.registry.services import authorizations, monitoring, signatures
from tests.factories import (
    People,
    deploy,
    make_model,
    make_version,
    password,
    reload,
    sign,
    submit,
)

V, A, R = Meaning.VALIDATED, Meaning.APPROVED, Meaning.REJECTED
HIGH = [
    Requirement(Role.VALIDATOR, V, 1),
    Requirement(Role.APPROVER, A, 1),
    Requirement(Role.MODEL_RISK_COMMITTEE, A, 1),
]
LOW = [Requirement(Role.APPROVER, A, 1)]


def signed(*triples: tuple[str, str, str]) -> tuple[rules.Signed, ...]:
    return tuple(rules.Signed(*t) for t in triples)


def in_validation(*given: rules.Signed, tier: str = "high") -> rules.VersionState:
    return rules.VersionState("model:m/1", tier, Stage.VALIDATION, False, given)


# --- The pure rules ------------------------------------------------------------------------------


def test_builders_are_every_recorder_and_author_of_every_package_and_whoever_authored():
    first = {"code": {"authors": ["user:dana"]}, "training_run": {"authors": ["service:ci"]}}
    corrected = {"code": {"authors": ["user:erin"]}, "training_run": {"authors": []}}
    found = rules.builders(
        [("service:trainer", first), ("user:frank", corrected)], authored=["user:gus"]
    )
    assert found == {
        "service:trainer",
        "service:ci",
        "user:dana",
        "user:erin",
        "user:frank",
        "user:gus",
    }


def test_a_signature_counts_only_while_bound_to_the_records_current_facts():
    assert rules.counts(binding_valid=True, signed_facts="sha256:a", facts="sha256:a")
    assert not rules.counts(binding_valid=True, signed_facts="sha256:a", facts="sha256:b")
    assert not rules.counts(binding_valid=False, signed_facts="sha256:a", facts="sha256:a")


def test_requirements_and_roles_read_as_words():
    assert rules.role_words(Role.MODEL_RISK_COMMITTEE) == "model risk committee"
    assert rules.role_words("model_risk_committee") == "model risk committee"
    assert rules.policy_words(HIGH) == (
        "1 validated by validator; 1 approved by approver; 1 approved by model risk committee"
    )
    assert rules.missing_signatures(HIGH, ()) == [
        "1 more validated by validator",
        "1 more approved by approver",
        "1 more approved by model risk committee",
    ]


def test_one_signer_never_fills_two_requirements():
    tess = ("user:tess", "approver", "approved"), ("user:tess", "model_risk_committee", "approved")
    assert rules.missing_signatures(LOW + HIGH[2:], signed(*tess)) == [
        "1 more approved by model risk committee"
    ]


def test_approvals_wait_for_the_validation_sign_off():
    assert rules.open_roles(HIGH, ()) == {"validator"}
    validated = signed(("user:vic", "validator", "validated"))
    assert rules.open_roles(HIGH, validated) == {"approver", "model_risk_committee"}
    assert rules.open_roles(LOW, ()) == {"approver"}


def test_a_validator_is_offered_nothing_on_a_tier_whose_policy_has_no_validator():
    low = in_validation(tier="low")
    assert rules.offerable_decisions(low, ["validator"], LOW) == []
    assert rules.change_request_roles(low, ["validator"]) == [Role.VALIDATOR]
    assert rules.offerable_decisions(in_validation(), ["validator"], HIGH) == [
        (V, Role.VALIDATOR),
        (R, Role.VALIDATOR),
    ]


def test_an_approver_is_offered_approval_once_the_validation_is_signed():
    assert rules.offerable_decisions(in_validation(), ["approver"], HIGH) == [(R, Role.APPROVER)]
    validated = in_validation(*signed(("user:vic", "validator", "validated")))
    assert rules.offerable_decisions(validated, ["approver"], HIGH) == [
        (A, Role.APPROVER),
        (R, Role.APPROVER),
    ]


def test_without_a_policy_only_authoring_and_reviews_are_offered():
    development = rules.VersionState("model:m/1", "high", Stage.DEVELOPMENT, False)
    assert rules.offerable_decisions(development, ["developer"], None) == [
        (Meaning.AUTHORED, Role.DEVELOPER)
    ]
    assert rules.offerable_decisions(in_validation(), ["validator", "approver"], None) == []
    with pytest.raises(DomainError, match="no policy for the high risk tier"):
        rules.check_decision(in_validation(), V, Role.VALIDATOR, None)


@given(
    effective=st.dates(date(2024, 1, 1), date(2040, 12, 31)),
    months=st.integers(1, 60),
)
def test_the_latest_expiry_is_the_day_before_the_same_date_months_later(effective, months):
    latest = rules.latest_expiry(months, effective)
    assert effective <= latest
    after = latest + timedelta(days=1)
    assert (after.year - effective.year) * 12 + after.month - effective.month == months
    assert after.day == effective.day or after.day < effective.day  # a shorter month clips


# --- Offered decisions against the real services -------------------------------------------------

SIGNERS = {Role.VALIDATOR: "vic", Role.APPROVER: "alice", Role.MODEL_RISK_COMMITTEE: "marc"}
CHANGES = "changes"


@dataclass
class Grid:
    """Builds records of one tier in a named state, each new, with the standing personas; the
    deciders are one new person per role, who built and proposed nothing."""

    people: People
    tier: RiskTier
    model: RegisteredModel
    numbers: Iterator[int]

    def sign_policy(self, record: ModelVersion | Authorization, what: str) -> None:
        policy = selectors.policy_for(self.model)
        for r in stored_requirements(getattr(policy, what)):
            if r.meaning == Meaning.APPROVED:
                sign(getattr(self.people, SIGNERS[r.role]), record, r.meaning, r.role)

    def version(self, state: str) -> ModelVersion:
        version = make_version(self.people, self.model, next(self.numbers))
        if state == "development":
            return version
        version = submit(self.people, version)
        policy = stored_requirements(selectors.policy_for(self.model).approval)
        if any(r.meaning == Meaning.VALIDATED for r in policy) and state != "validation":
            sign(self.people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)
        if state in ("validation", "validated"):
            return reload(version)
        self.sign_policy(version, "approval")
        version = reload(version)
        if state == "approved":
            return version
        self.authorize(version, self.use_case())
        deploy(self.people, version)
        assert state == "review due"
        return self.breach(version)

    def use_case(self) -> UseCase:
        n = next(self.numbers)
        return authorizations.create_use_case(
            slug=f"grid-{self.tier}-{n}",
            title=f"Use {n}",
            model=self.model,
            population="everyone",
            by=self.people.alice,
        )

    def propose(self, version: ModelVersion, use_case: UseCase) -> Authorization:
        return authorizations.propose_authorization(
            version=version,
            use_case=use_case,
            effective_on=timezone.localdate(),
            by=self.people.dana,
        )

    def authorize(self, version: ModelVersion, use_case: UseCase) -> Authorization:
        auth = self.propose(version, use_case)
        self.sign_policy(auth, "authorization")
        return Authorization.objects.get(pk=auth.pk)

    def breach(self, version: ModelVersion) -> ModelVersion:
        today = timezone.localdate()
        monitoring.record_monitoring(
            version=version,
            metric="psi",
            value="0.9",
            window_start=today,
            window_end=today,
            by=self.people.trainer,
        )
        return reload(version)

    def authorization(self, state: str) -> Authorization:
        version = self.version("approved")
        if state == "proposed":
            return self.propose(version, self.use_case())
        if state == "proposed, version under review":
            self.authorize(version, self.use_case())
            deploy(self.people, version)
            proposal = self.propose(version, self.use_case())
            self.breach(version)
            return Authorization.objects.get(pk=proposal.pk)
        auth = self.authorize(version, self.use_case())
        if state == "revoked":
            sign(self.people.alice, auth, Meaning.REVOKED, Role.APPROVER, comment="ended")
        return Authorization.objects.get(pk=auth.pk)


VERSION_STATES = ["development", "validation", "validated", "approved", "review due"]
AUTHORIZATION_STATES = ["proposed", "proposed, version under review", "active", "revoked"]


def decide(who: Principal, record: ModelVersion | Authorization, meaning: str, role: Role) -> None:
    if meaning == CHANGES:
        assert isinstance(record, ModelVersion)
        signatures.request_changes(version=record, role=role, comment="please", by=who)
        return
    signatures.sign(
        record=record,
        meaning=Meaning(meaning),
        role=role,
        password=password(who.username),
        comment="because",
        by=who,
    )


def offered(record: ModelVersion | Authorization, who: Principal) -> set[tuple[str, Role]]:
    found = {(str(m), r) for m, r in selectors.offerable(record, who.roles())}
    if isinstance(record, ModelVersion):
        found |= {(CHANGES, r) for r in selectors.change_request_roles(record, who.roles())}
    return found


def fingerprint(record: ModelVersion | Authorization) -> tuple[object, ...]:
    if isinstance(record, ModelVersion):
        fresh = ModelVersion.objects.get(pk=record.pk)
        return fresh.stage, fresh.review_required, fresh.signatures.count()
    auth = Authorization.objects.get(pk=record.pk)
    return auth.status, auth.signatures.count()


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("tier", list(RiskTier))
def test_the_decisions_offered_are_exactly_those_the_services_accept(people, tier):
    """For each role, tier and record state: every decision offered is accepted (on a new
    record in that state), and every other meaning in that role is refused."""
    grid = Grid(people, tier, make_model(people, slug=f"grid-{tier}", tier=tier), count(1))
    monitoring.set_threshold(model=grid.model, metric="psi", upper="0.25", by=people.vic)
    deciders = {
        role: accounts.enroll_person(
            username=f"grid-{role.value}",
            printed_name=f"Grid {role.label}",
            roles=[role],
            password=password(f"grid-{role.value}"),
            by=people.ada,
        )
        for role in Role
    }
    builds: list[tuple[str, Callable[[str], ModelVersion | Authorization], list[str]]] = [
        (s, grid.version, [*map(str, rules.VERSION_MEANINGS), CHANGES]) for s in VERSION_STATES
    ]
    builds += [
        (s, grid.authorization, list(map(str, rules.AUTHORIZATION_MEANINGS)))
        for s in AUTHORIZATION_STATES
    ]
    accepted: dict[str, list[str]] = {}
    for state, build, meanings in builds:
        shared = build(state)
        for role, who in deciders.items():
            offers = offered(shared, who)
            for meaning in meanings:
                if (meaning, role) in offers:
                    decide(who, build(state), meaning, role)
                    accepted.setdefault(state, []).append(f"{meaning} as {role}")
                    continue
                before = fingerprint(shared)
                with pytest.raises(DomainError):
                    decide(who, shared, meaning, role)
                assert fingerprint(shared) == before, (state, meaning, role)
    # The grid covers the decisions that matter: a sanity check on what was accepted.
    assert "authored as developer" in accepted["development"]
    assert "reviewed as validator" in accepted["review due"]
    assert "approved as approver" in accepted["proposed"]
    assert "revoked as administrator" in accepted["active"]
    assert "revoked" not in accepted
    assert "approved" not in accepted
    if tier == RiskTier.LOW:
        assert "validated as validator" not in accepted["validation"]
        assert "approved as approver" in accepted["validation"]
    else:
        assert "approved as approver" not in accepted["validation"]
        assert "approved as approver" in accepted["validated"]


# --- In force: one definition --------------------------------------------------------------------


@pytest.fixture
def grid(clock, people):
    model = make_model(people, slug="in-force", tier=RiskTier.LOW)
    return Grid(people, RiskTier.LOW, model, count(1))


def test_an_authorization_effective_later_is_not_in_force_yet(clock, people, grid):
    version = grid.version("approved")
    proposal = authorizations.propose_authorization(
        version=version,
        use_case=grid.use_case(),
        effective_on=timezone.localdate() + timedelta(days=10),
        by=people.dana,
    )
    grid.sign_policy(proposal, "authorization")
    auth = Authorization.objects.get(pk=proposal.pk)
    assert auth.status == AuthorizationStatus.ACTIVE
    now = timezone.now()
    assert not auth.in_force(now)
    assert not Authorization.objects.in_force(now).exists()
    later = now + timedelta(days=11)
    assert auth.in_force(later)
    assert list(Authorization.objects.in_force(later)) == [auth]


def test_the_query_and_the_row_agree_on_in_force_at_every_moment(clock, people, grid):
    revoked = grid.authorization("active")
    clock.advance(days=3)
    sign(people.alice, revoked, Meaning.REVOKED, Role.APPROVER, comment="ended")
    active = grid.authorization("active")
    rejected = grid.authorization("proposed")
    sign(people.alice, rejected, Meaning.REJECTED, Role.APPROVER, comment="no")
    proposed = grid.authorization("proposed")
    rows = [Authorization.objects.get(pk=a.pk) for a in (revoked, active, rejected, proposed)]
    start = min(a.proposed_at for a in rows) - timedelta(days=1)
    for day in range(0, 800, 7):
        moment = start + timedelta(days=day, hours=13)
        by_query = set(Authorization.objects.in_force(moment).values_list("pk", flat=True))
        assert by_query == {a.pk for a in rows if a.in_force(moment)}, moment
