"""Generated registry histories, checked against a reference model.

A hypothesis state machine drives the registry's write services (versions through their
lifecycle, signatures for and against, authorizations with fallbacks and short expiries,
deployments, rollbacks, monitoring breaches and reviews, and attempts that must be refused,
with nothing but a recorded signing failure reaching the ledger) on a fake clock that moves
by nothing, microseconds or up to months between steps. A plain Python model keeps what the
registry should hold after each step and predicts every refusal.

After every step, `as_of` must agree with the model at the current moment, and in turn just
before it (the state before the step) or at an earlier moment: a step's moment, an instant
halfway between steps, an authorization's first or last instant or the one just outside it;
for everything, one model or one use case. At the end of each history, a sample of those
moments again, the registry's tables must be exactly what replaying the ledger rebuilds, and
the ledger must verify.
"""

import bisect
import calendar
import copy
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from random import Random
from typing import Any, NamedTuple

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from auditreg.accounts.domain import Role
from auditreg.errors import DomainError
from auditreg.facts import replay
from auditreg.ledger.integrity import verify_database
from auditreg.ledger.models import Entry
from auditreg.ledger.services import tree_size
from auditreg.registry import selectors
from auditreg.registry.domain import Meaning, RiskTier, Stage
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    MonitoringRecord,
    RegisteredModel,
    Signature,
    UseCase,
)
from auditreg.registry.queries import RegistryAt, as_of, usable_version
from auditreg.registry.services import authorizations, monitoring, policies, signatures, versions
from tests.factories import (
    PEOPLE,
    People,
    approve,
    authorize,
    deploy,
    make_model,
    make_package,
    make_people,
    make_use_case,
    make_version,
    password,
    reload,
)

START = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
MICRO = timedelta(microseconds=1)

MODELS = {"credit-pd": RiskTier.HIGH, "fraud-flag": RiskTier.LOW}
USE_CASES = {"retail-pd": "credit-pd", "sme-pd": "credit-pd", "card-fraud": "fraud-flag"}
MAX_VERSIONS = 5  # per model, so that histories also go deep rather than only wide

# Who holds which role (tests.factories.PEOPLE), by username.
ROLES: dict[str, frozenset[Role]] = {name: frozenset(roles) for name, (_, roles) in PEOPLE.items()}
SIGNERS = [name for name in ROLES if name != "mallory"]

# The tiers' policies as (role, meaning) pairs, each needed once, and months until review.
APPROVAL = {
    tier: [(Role(r["role"]), Meaning(r["meaning"])) for r in policy["approval"]]
    for tier, policy in policies.DEFAULT_POLICIES.items()
}
AUTHORIZING = {
    tier: [(Role(r["role"]), Meaning(r["meaning"])) for r in policy["authorization"]]
    for tier, policy in policies.DEFAULT_POLICIES.items()
}
REVIEW_MONTHS = {
    tier: int(policy["review_months"]) for tier, policy in policies.DEFAULT_POLICIES.items()
}

# The lifecycle a person may ask for by hand, written out again rather than imported.
BY_HAND: dict[Stage, set[Stage]] = {
    Stage.DEVELOPMENT: {Stage.RETIRED},
    Stage.VALIDATION: set(),
    Stage.REJECTED: {Stage.RETIRED},
    Stage.APPROVED: {Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION, Stage.DEPRECATED, Stage.RETIRED},
    Stage.SHADOW: {Stage.CANARY, Stage.PRODUCTION, Stage.APPROVED, Stage.RETIRED},
    Stage.CANARY: {Stage.SHADOW, Stage.PRODUCTION, Stage.APPROVED, Stage.RETIRED},
    Stage.PRODUCTION: {Stage.DEPRECATED},
    Stage.DEPRECATED: {Stage.RETIRED},
    Stage.RETIRED: set(),
}
SERVING = {Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION}
DEPLOYERS = {Role.DEVELOPER, Role.APPROVER, Role.ADMINISTRATOR}
GOVERNORS = {Role.APPROVER, Role.MODEL_RISK_COMMITTEE, Role.ADMINISTRATOR}
PROPOSERS = {Role.DEVELOPER, Role.APPROVER, Role.MODEL_RISK_COMMITTEE}
MONITORS = {Role.DEVELOPER, Role.VALIDATOR}
THRESHOLD_SETTERS = {Role.VALIDATOR, Role.MODEL_RISK_COMMITTEE}
FORWARD = {Meaning.AUTHORED, Meaning.VALIDATED, Meaning.APPROVED, Meaning.REVIEWED}
AGAINST = {Meaning.REJECTED, Meaning.REVOKED}

PROPOSED, ACTIVE, REJECTED, REVOKED = "proposed", "active", "rejected", "revoked"

LAPSED = "the fallback is no longer authorized for the use"
WITHDRAWN = "the fallback is rejected or retired"


class FakeClock:
    """What `django.utils.timezone.now` returns while the machine runs."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


CLOCK = FakeClock()
PEOPLE_ONCE: list[People] = []  # enrolled by the test, before the histories


@contextmanager
def rolled_back() -> Iterator[None]:
    """A transaction that is always rolled back: one generated history's isolation.

    The ledger is append-only (triggers refuse DELETE and TRUNCATE), so nothing a history
    wrote can be cleaned up afterwards; it must never be committed. Every write service opens
    a durable atomic block, which Django allows only at the outermost level or directly
    inside a test case's own block (it checks `_from_testcase` on the innermost block), so
    this block says it is one. Inside it, the services' blocks are savepoints as in any
    Django test.
    """
    atomic = transaction.atomic()
    atomic._from_testcase = True  # type: ignore[attr-defined]
    with atomic:
        try:
            yield
        finally:
            transaction.set_rollback(True)


def add_months(day: date, months: int) -> date:
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- The reference model -----------------------------------------------------------------------


class Sig(NamedTuple):
    username: str
    role: Role
    meaning: Meaning
    decided: str  # the record's stage (a version) or status (an authorization) when signed
    review_of: int | None  # the monitoring review a "reviewed" signature clears
    at: datetime


@dataclass
class Version:
    subject: str
    model: str
    stage: Stage
    builders: frozenset[str]  # actor ids: registered it or authored its package
    review: int | None = None  # the outstanding monitoring review, if any
    signatures: list[Sig] = field(default_factory=list)
    windows: set[tuple[date, date]] = field(default_factory=set)  # monitoring recorded

    def authors(self) -> set[str]:
        authored = {f"user:{s.username}" for s in self.signatures if s.meaning == Meaning.AUTHORED}
        return set(self.builders) | authored


@dataclass
class Grant:
    """An authorization."""

    subject: str
    use_case: str
    number: int
    version: str
    fallback: str | None
    effective_on: date
    expires_on: date
    effective_from: datetime
    expires_at: datetime
    proposer: str
    status: str = PROPOSED
    signatures: list[Sig] = field(default_factory=list)

    def in_force(self, moment: datetime) -> bool:
        """Judged on the state recorded at or before `moment`: an active grant was activated
        by then, a revoked one was revoked by then."""
        return self.status == ACTIVE and self.effective_from <= moment < self.expires_at


@dataclass
class State:
    versions: dict[str, Version] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    thresholds: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    reviews: int = 0

    def production(self, model: str) -> list[Version]:
        return [
            v for v in self.versions.values() if v.model == model and v.stage == Stage.PRODUCTION
        ]

    def in_force(self, version: str, moment: datetime, use_case: str | None = None) -> bool:
        return any(
            g.version == version and g.in_force(moment) and use_case in (None, g.use_case)
            for g in self.grants.values()
        )

    def record(self, subject: str) -> Version | Grant:
        return self.versions[subject] if subject in self.versions else self.grants[subject]

    def signing_refusal(
        self, record: Version | Grant, who: str, role: Role, meaning: Meaning
    ) -> str | None:
        """Why `who` may not sign, or None when the signature must be accepted."""
        if role not in ROLES[who]:
            return f"{who} is not {role}"
        review_of = None
        if isinstance(record, Version):
            required = APPROVAL[MODELS[record.model]]
            decided: str = record.stage
            if meaning == Meaning.AUTHORED:
                if record.stage != Stage.DEVELOPMENT or role != Role.DEVELOPER:
                    return "only a developer authors, in development"
                return None  # the developer attests their own work
            if meaning == Meaning.REVIEWED:
                if record.review is None or role != Role.VALIDATOR:
                    return "a validator reviews a version with a review due"
                review_of = record.review
            elif meaning in (Meaning.VALIDATED, Meaning.APPROVED, Meaning.REJECTED):
                if record.stage != Stage.VALIDATION:
                    return "not in validation"
                if not self.fits(required, role, meaning):
                    return "the policy has no place for it"
                validated = any(
                    s.role == Role.VALIDATOR and s.meaning == Meaning.VALIDATED
                    for s in record.signatures
                )
                needs_validation = any(m == Meaning.VALIDATED for _, m in required)
                if meaning == Meaning.APPROVED and needs_validation and not validated:
                    return "validation comes before approvals"
            else:
                return "not a meaning for versions"
            builders = record.authors()
        else:
            version = self.versions[record.version]
            required = AUTHORIZING[MODELS[version.model]]
            decided = record.status
            if meaning == Meaning.REVOKED:
                if record.status != ACTIVE or role not in GOVERNORS:
                    return "a governor revokes an active authorization"
            elif meaning in (Meaning.APPROVED, Meaning.REJECTED):
                if record.status != PROPOSED:
                    return "not awaiting a decision"
                unfit = (
                    version.stage not in (Stage.APPROVED, *SERVING) or version.review is not None
                )
                if meaning == Meaning.APPROVED and unfit:
                    return "the version can no longer be authorized"
                if not self.fits(required, role, meaning):
                    return "the policy has no place for it"
            else:
                return "not a meaning for authorizations"
            builders = version.authors() | {record.proposer}
        if f"user:{who}" in builders:
            return "separation of duties"
        same_decision = [
            s for s in record.signatures if (s.decided, s.review_of) == (decided, review_of)
        ]
        if who in {s.username for s in same_decision}:
            return "already signed this decision"
        return None

    @staticmethod
    def fits(required: list[tuple[Role, Meaning]], role: Role, meaning: Meaning) -> bool:
        if meaning == Meaning.REJECTED:
            return role in {r for r, _ in required}
        return (role, meaning) in required

    def signed(
        self, record: Version | Grant, who: str, role: Role, meaning: Meaning, at: datetime
    ) -> None:
        """Apply an accepted signature and what follows from it."""
        if isinstance(record, Version):
            review_of = record.review if meaning == Meaning.REVIEWED else None
            record.signatures.append(Sig(who, role, meaning, record.stage, review_of, at))
            if meaning == Meaning.AUTHORED:
                record.stage = Stage.VALIDATION
            elif meaning == Meaning.REJECTED:
                record.stage = Stage.REJECTED
            elif meaning == Meaning.REVIEWED:
                record.review = None
            elif self.complete(APPROVAL[MODELS[record.model]], record.signatures):
                record.stage = Stage.APPROVED
            return
        record.signatures.append(Sig(who, role, meaning, record.status, None, at))
        if meaning == Meaning.REJECTED:
            record.status = REJECTED
        elif meaning == Meaning.REVOKED:
            record.status = REVOKED
        elif self.complete(
            AUTHORIZING[MODELS[self.versions[record.version].model]], record.signatures
        ):
            record.status = ACTIVE

    @staticmethod
    def complete(required: list[tuple[Role, Meaning]], signatures: list[Sig]) -> bool:
        # Each person signs a decision once, so distinct signatures are distinct people.
        return all(any((s.role, s.meaning) == need for s in signatures) for need in required)

    def stage_refusal(self, version: Version, to: Stage, who: str, now: datetime) -> str | None:
        allowed = DEPLOYERS if to in SERVING or to == Stage.APPROVED else GOVERNORS
        if not ROLES[who] & allowed:
            return f"{who} may not move versions to {to}"
        if to not in BY_HAND[version.stage]:
            return f"{version.stage} to {to} is not a manual transition"
        if to in (Stage.CANARY, Stage.PRODUCTION):
            if version.review is not None:
                return "a monitoring review is outstanding"
            if not self.in_force(version.subject, now):
                return "no authorization in force"
        return None

    def staged(self, version: Version, to: Stage) -> None:
        if to == Stage.PRODUCTION:
            for other in self.production(version.model):
                other.stage = Stage.DEPRECATED
        version.stage = to


@dataclass(frozen=True)
class Snapshot:
    """The model's state after a step, from the step's moment until the next step."""

    moment: datetime
    state: State


# --- What as_of answers, in comparable form -----------------------------------------------------


def signature_view(signatures: Any) -> tuple[tuple[str, str, str, datetime], ...]:
    return tuple((s.username, str(s.role), str(s.meaning), s.signed_at) for s in signatures)


def observed(registry: RegistryAt) -> dict[str, Any]:
    return {
        "models": {m.slug: (m.production, m.shadow, m.canary) for m in registry.models},
        "use_cases": {
            u.slug: (
                tuple(a.subject for a in u.authorizations),
                u.authorized_versions,
                u.in_use,
                u.production,
            )
            for u in registry.use_cases
        },
        "authorizations": {
            a.subject: (
                a.version,
                a.fallback,
                a.effective_on,
                a.expires_on,
                signature_view(a.signatures),
            )
            for u in registry.use_cases
            for a in u.authorizations
        },
        "versions": {
            subject: (v.stage, v.review_required, signature_view(v.approvals))
            for subject, v in registry.versions.items()
        },
    }


class ModelSig(NamedTuple):
    """A model signature with the field names of queries.SignatureAt."""

    username: str
    role: str
    meaning: str
    signed_at: datetime


def model_signatures(signatures: list[Sig], meanings: set[Meaning] | None = None) -> Any:
    return signature_view(
        ModelSig(s.username, s.role, s.meaning, s.at)
        for s in signatures
        if meanings is None or s.meaning in meanings
    )


def expected(
    snapshot: Snapshot | None, moment: datetime, model: str | None, use_case: str | None
) -> dict[str, Any]:
    """What as_of(moment) must answer, from the state recorded last at or before `moment`."""
    if snapshot is None:  # before the models and use cases were registered
        return {"models": {}, "use_cases": {}, "authorizations": {}, "versions": {}}
    state = snapshot.state
    models = [model] if model else [USE_CASES[use_case]] if use_case else sorted(MODELS)
    use_cases = [use_case] if use_case else [u for u in sorted(USE_CASES) if USE_CASES[u] in models]
    serving = [v for v in state.versions.values() if v.model in models and v.stage in SERVING]

    def at_stage(slug: str, stage: Stage) -> tuple[str, ...]:
        return tuple(sorted(v.subject for v in serving if v.model == slug and v.stage == stage))

    model_rows = {}
    for slug in models:
        in_production = at_stage(slug, Stage.PRODUCTION)
        assert len(in_production) <= 1, f"two versions in production: {in_production}"
        model_rows[slug] = (
            in_production[0] if in_production else None,
            at_stage(slug, Stage.SHADOW),
            at_stage(slug, Stage.CANARY),
        )
    in_force = sorted(
        (g for g in state.grants.values() if g.use_case in use_cases and g.in_force(moment)),
        key=lambda g: (g.use_case, g.number),
    )
    use_case_rows = {}
    for slug in use_cases:
        granted = [g for g in in_force if g.use_case == slug]
        production = model_rows[USE_CASES[slug]][0]
        use_case_rows[slug] = (
            tuple(g.subject for g in granted),
            tuple(sorted({g.version for g in granted})),
            production if any(g.version == production for g in granted) else None,
            production,
        )
    involved = {v.subject for v in serving} | {g.version for g in in_force}
    involved |= {g.fallback for g in in_force if g.fallback}
    return {
        "models": model_rows,
        "use_cases": use_case_rows,
        "authorizations": {
            g.subject: (
                g.version,
                g.fallback,
                g.effective_on,
                g.expires_on,
                model_signatures(g.signatures),
            )
            for g in in_force
        },
        "versions": {
            subject: (
                str(state.versions[subject].stage),
                state.versions[subject].review is not None,
                model_signatures(
                    state.versions[subject].signatures, {Meaning.VALIDATED, Meaning.APPROVED}
                ),
            )
            for subject in sorted(involved)
        },
    }


# --- Strategies ---------------------------------------------------------------------------------


# Between two steps: seconds to hours, microseconds, days, up to about four months (so that
# authorizations lapse meanwhile), or nothing (two steps at the same instant).
GAPS = st.one_of(
    st.builds(timedelta, seconds=st.integers(1, 48 * 3600)),
    st.builds(timedelta, microseconds=st.integers(1, 60_000_000)),
    st.builds(timedelta, days=st.integers(1, 20)),
    st.builds(timedelta, microseconds=st.integers(1, 10**13)),
    st.just(timedelta(0)),
)
SCOPES = [(None, None), *[(m, None) for m in MODELS], *[(None, u) for u in USE_CASES]]
# Mostly what the rules allow; now and then anything, to be refused.
USUALLY = st.sampled_from([True, True, True, True, False])
VALUES = st.sampled_from(["0.55", "0.65", "0.70", "0.75", "0.85", "0.97"])
BOUNDS = st.sampled_from([("0.70", None), ("0.60", "0.95"), (None, "0.80")])


class RegistryHistory(RuleBasedStateMachine):
    """Two models (high and low risk tier), three use cases, AUC thresholds; people enrolled
    once by the test. Each history runs in its own rolled-back transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.exit = ExitStack()
        self.exit.enter_context(rolled_back())
        try:
            self._set_up()
        except BaseException:
            self.exit.close()
            raise

    def _set_up(self) -> None:
        CLOCK.now = START
        self.people = PEOPLE_ONCE[0]
        self.reader = self.people.olga
        self.state = State()
        for slug, tier in MODELS.items():
            model = versions.register_model(
                slug=slug,
                name=slug.replace("-", " ").title(),
                owner="Retail Risk",
                domain="credit risk",
                risk_tier=tier,
                intended_purpose="Scoring applications",
                limitations="Retail only",
                by=self.people.dana,
            )
            for use_case, of in USE_CASES.items():
                if of == slug:
                    authorizations.create_use_case(
                        slug=use_case,
                        title=use_case.replace("-", " "),
                        model=model,
                        population="Retail applicants",
                        by=self.people.alice,
                    )
        self.set_bounds("credit-pd", ("0.70", None), "vic")
        self.set_bounds("fraud-flag", ("0.60", "0.95"), "marc")
        self.packages = 0
        self.packages_of: dict[str, dict[str, Any]] = {}
        self.settled = False
        self.history: list[Snapshot] = []
        self.times: list[datetime] = []

    # --- helpers ---

    def person(self, name: str) -> Any:
        return self.people.by_name[name]

    def tick(self, gap: timedelta) -> datetime:
        """Every rule starts here: move the clock on; the step is unsettled until checked."""
        self.settled = False
        CLOCK.now += gap
        return CLOCK.now

    def today(self) -> date:
        return CLOCK.now.astimezone(selectors.organisation_zone()).date()

    def set_bounds(self, slug: str, bounds: tuple[str | None, str | None], who: str) -> None:
        monitoring.set_threshold(
            model=RegisteredModel.objects.get(slug=slug),
            metric="auc",
            lower=bounds[0],
            upper=bounds[1],
            by=self.person(who),
        )
        self.state.thresholds[slug] = bounds

    def orm(self, record: Version | Grant) -> ModelVersion | Authorization:
        if isinstance(record, Version):
            return ModelVersion.objects.select_related("model").get(subject=record.subject)
        return Authorization.objects.get(subject=record.subject)

    def refused(self, reason: str, call: Callable[[], object], *, signing: str = "") -> None:
        """The model says `call` must be refused: it is, and nothing but a recorded signing
        failure (when `signing` names the record) reaches the ledger."""
        before = tree_size()
        try:
            call()
        except DomainError:
            pass
        else:
            raise AssertionError(f"accepted, but the model expected a refusal: {reason}")
        if signing:
            assert tree_size() == before + 1
            last = Entry.objects.get(seq=before)
            assert (last.kind, last.subject) == ("signature.failed", signing)
        else:
            assert tree_size() == before, "a refused action changed the ledger"

    def sign(self, record: Version | Grant, who: str, role: Role, meaning: Meaning) -> None:
        """Sign, as the model predicts (accepted or refused), and apply it to the model."""
        reason = self.state.signing_refusal(record, who, role, meaning)

        def call() -> Signature:
            return signatures.sign(
                record=self.orm(record),
                meaning=meaning,
                role=role,
                password=password(who),
                comment=f"{meaning} by {who}",
                by=self.person(who),
            )

        if reason is not None:
            self.refused(reason, call, signing=record.subject)
            return
        signature = call()
        assert signature.signer == f"user:{who}"
        self.state.signed(record, who, role, meaning, CLOCK.now)

    def combos(
        self, meanings: set[Meaning], *, legal: bool
    ) -> list[tuple[str, str, Role, Meaning]]:
        """(record, person, role, meaning) with a role the person holds, in a fixed order."""
        records: list[Version | Grant] = [
            *self.state.versions.values(),
            *self.state.grants.values(),
        ]
        found = []
        for record in records:
            for who in SIGNERS:
                for role in sorted(ROLES[who]):
                    for meaning in sorted(meanings):
                        refusal = self.state.signing_refusal(record, who, role, meaning)
                        if (refusal is None) == legal:
                            found.append((record.subject, who, role, meaning))
        return found

    def sign_drawn(self, data: st.DataObject, meanings: set[Meaning]) -> None:
        choices = self.combos(meanings, legal=True)
        # First the kind of decision, then who signs it: rare kinds are not drowned out.
        kinds = sorted({(subject.split(":")[0], meaning) for subject, _, _, meaning in choices})
        kind = data.draw(st.sampled_from(kinds), label="kind")
        subject, who, role, meaning = data.draw(
            st.sampled_from([c for c in choices if (c[0].split(":")[0], c[3]) == kind]),
            label="signature",
        )
        self.sign(self.state.record(subject), who, role, meaning)

    def sign_until(
        self, data: st.DataObject, record: Version | Grant, done: Callable[[], bool]
    ) -> None:
        """Sign with legal signers (drawn) until `done` or no one may sign any more."""
        meanings = {Meaning.VALIDATED, Meaning.APPROVED}
        while not done():
            choices = [
                (who, role, meaning)
                for who in SIGNERS
                for role in sorted(ROLES[who])
                for meaning in sorted(meanings)
                if self.state.signing_refusal(record, who, role, meaning) is None
            ]
            if not choices:
                return  # stuck: e.g. the one person who could fill a role has signed already
            who, role, meaning = data.draw(st.sampled_from(choices), label="signer")
            self.sign(record, who, role, meaning)

    def add_version(
        self, data: st.DataObject, model: str, registrar: str, co_author: str | None, until: str
    ) -> Version:
        self.packages += 1
        authors = ["user:dana"] + ([f"user:{co_author}"] if co_author else [])
        run = {"id": f"run:{model}/{self.packages}", "authors": authors}
        registrar_id = "service:trainer" if registrar == "trainer" else "user:dana"
        package = make_package(self.packages, training_run=run)
        created, fresh = versions.register_version(
            model=RegisteredModel.objects.get(slug=model),
            package=package,
            by=self.person(registrar),
        )
        assert fresh
        number = 1 + len([v for v in self.state.versions.values() if v.model == model])
        version = Version(
            f"model:{model}/{number}", model, Stage.DEVELOPMENT, frozenset({registrar_id, *authors})
        )
        assert created.subject == version.subject
        self.state.versions[version.subject] = version
        self.packages_of[version.subject] = package
        if until != "development":
            self.sign(version, "dana", Role.DEVELOPER, Meaning.AUTHORED)
        if until == "approved":
            self.sign_until(data, version, lambda: version.stage != Stage.VALIDATION)
        return version

    def propose_grant(
        self,
        use_case: str,
        version: Version,
        proposer: str,
        effective_on: date,
        expires_on: date | None,
        fallback: str | None,
    ) -> Grant | None:
        """Propose, as the model predicts (accepted or refused); the new grant, if accepted."""
        now = CLOCK.now
        latest = add_months(effective_on, REVIEW_MONTHS[MODELS[version.model]]) - timedelta(days=1)
        ends = latest if expires_on is None else expires_on
        reason = None
        if not ROLES[proposer] & PROPOSERS:
            reason = f"{proposer} may not propose"
        elif version.model != USE_CASES[use_case]:
            reason = "a version of another model"
        elif version.stage not in (Stage.APPROVED, *SERVING):
            reason = f"{version.subject} is {version.stage}"
        elif version.review is not None:
            reason = "a monitoring review is outstanding"
        elif effective_on < self.today():
            reason = "effective in the past"
        elif not effective_on <= ends <= latest:
            reason = "longer than the policy allows"
        elif fallback is not None and (
            fallback == version.subject or not self.state.in_force(fallback, now, use_case)
        ):
            reason = "the fallback is not another version authorized for the use now"
        elif self.pending(use_case, version.subject):
            reason = "already proposed or authorized"

        def call() -> Authorization:
            return authorizations.propose_authorization(
                version=ModelVersion.objects.get(subject=version.subject),
                use_case=UseCase.objects.get(slug=use_case),
                effective_on=effective_on,
                conditions=["PSI below 0.25"],
                expires_on=expires_on,
                fallback=None if fallback is None else ModelVersion.objects.get(subject=fallback),
                by=self.person(proposer),
            )

        if reason is not None:
            self.refused(reason, call)
            return None
        created = call()
        number = 1 + len([g for g in self.state.grants.values() if g.use_case == use_case])
        zone = selectors.organisation_zone()
        grant = Grant(
            subject=f"authorization:{use_case}/{number}",
            use_case=use_case,
            number=number,
            version=version.subject,
            fallback=fallback,
            effective_on=effective_on,
            expires_on=ends,
            effective_from=datetime.combine(effective_on, time.min, zone),
            expires_at=datetime.combine(ends + timedelta(days=1), time.min, zone),
            proposer=f"user:{proposer}",
        )
        assert created.subject == grant.subject
        self.state.grants[grant.subject] = grant
        return grant

    def move(self, version: Version, to: Stage, who: str) -> None:
        """Change a version's stage, as the model predicts (accepted or refused)."""
        reason = self.state.stage_refusal(version, to, who, CLOCK.now)

        def call() -> ModelVersion:
            return versions.change_stage(
                version=ModelVersion.objects.get(subject=version.subject),
                to=to,
                reason="CHG-1",
                by=self.person(who),
            )

        if reason is not None:
            self.refused(reason, call)
            return
        assert call().stage == to
        self.state.staged(version, to)

    # --- rules ---

    @initialize(start=st.sampled_from(["with a fallback", "approved", "empty"]), data=st.data())
    def start_with(self, start, data):
        """Begin from an empty registry; or with a first version of each model approved; or
        with the high-risk model's first version authorized for a use and in production, then
        its second, authorized for that use with the first as its fallback, in its place."""
        self.tick(timedelta(0))
        if start == "approved":
            for model in MODELS:
                self.add_version(data, model, "trainer", None, "approved")
        elif start == "with a fallback":
            first = self.add_version(data, "credit-pd", "trainer", None, "approved")
            self.authorize(data, "retail-pd", first, None)
            self.move(first, Stage.PRODUCTION, "dana")
            second = self.add_version(data, "credit-pd", "trainer", None, "approved")
            self.authorize(data, "retail-pd", second, first.subject)
            self.move(second, Stage.PRODUCTION, "alice")

    def authorize(
        self, data: st.DataObject, use_case: str, version: Version, fallback: str | None
    ) -> None:
        """Propose as a developer, then sign until in force. (When signers drawn earlier left
        no one to fill a role, a version stays in validation; the model predicts what is then
        refused.)"""
        grant = self.propose_grant(use_case, version, "dana", self.today(), None, fallback)
        if grant is not None:
            self.sign_until(data, grant, lambda: grant.status != PROPOSED)

    @rule(
        model=st.sampled_from(sorted(MODELS)),
        registrar=st.sampled_from(["trainer", "dana"]),
        co_author=st.sampled_from([None, "vic", "wendy", "alice", "marc", "tess"]),
        until=st.sampled_from(["approved", "validation", "development"]),
        gap=GAPS,
        data=st.data(),
    )
    def new_version(self, model, registrar, co_author, until, gap, data):
        """Register a version, and maybe submit it and carry it through validation. Once the
        model has enough, register one of its packages again: that version comes back, and
        nothing is recorded."""
        self.tick(gap)
        ours = [v.subject for v in self.state.versions.values() if v.model == model]
        if len(ours) < MAX_VERSIONS:
            self.add_version(data, model, registrar, co_author, until)
            return
        subject = data.draw(st.sampled_from(ours), label="again")
        before = tree_size()
        existing, fresh = versions.register_version(
            model=RegisteredModel.objects.get(slug=model),
            package=self.packages_of[subject],
            by=self.person(registrar),
        )
        assert (existing.subject, fresh, tree_size()) == (subject, False, before)

    @precondition(lambda self: self.combos(FORWARD, legal=True))
    @rule(data=st.data())
    def sign_forward(self, data):
        """Submit, validate, approve, authorize or clear a review."""
        # The gap is drawn here rather than as an argument: the rule with the fewest
        # arguments comes first among the rules, and the first is the one drawn most.
        self.tick(data.draw(GAPS, label="gap"))
        self.sign_drawn(data, FORWARD)

    @precondition(lambda self: self.combos(AGAINST, legal=True))
    @rule(gap=GAPS, data=st.data())
    def sign_against(self, gap, data):
        """Reject a version or an authorization, or revoke an authorization."""
        self.tick(gap)
        self.sign_drawn(data, AGAINST)

    @precondition(lambda self: self.state.versions)
    @rule(gap=GAPS, data=st.data(), how=st.sampled_from(["near miss", "stranger", "password"]))
    def sign_illegal(self, gap, data, how):
        """A signature that must be refused, and the refusal recorded: a role the person holds
        but the wrong record, stage, meaning or person; a role they do not hold; a wrong
        password."""
        self.tick(gap)
        records = [*self.state.versions.values(), *self.state.grants.values()]
        if how == "near miss":
            subject, who, role, meaning = data.draw(
                st.sampled_from(self.combos(set(Meaning), legal=False))
            )
            self.sign(self.state.record(subject), who, role, meaning)
            return
        record = data.draw(st.sampled_from(records), label="record")
        if how == "stranger":
            who = data.draw(st.sampled_from(sorted(ROLES)), label="who")
            role = data.draw(st.sampled_from(sorted(set(Role) - ROLES[who])), label="role")
            meaning = data.draw(st.sampled_from(sorted(Meaning)), label="meaning")
            self.sign(record, who, role, meaning)
            return
        who = data.draw(st.sampled_from(SIGNERS), label="who")
        role = data.draw(st.sampled_from(sorted(ROLES[who])), label="role")
        meaning = data.draw(st.sampled_from(sorted(Meaning)), label="meaning")
        self.refused(
            "wrong password",
            lambda: signatures.sign(
                record=self.orm(record),
                meaning=meaning,
                role=role,
                password="not-" + password(who),
                comment="guess",
                by=self.person(who),
            ),
            signing=record.subject,
        )

    def pending(self, use_case: str, version: str) -> bool:
        """A proposal or authorization of `version` for `use_case` that has not lapsed."""
        return any(
            g.use_case == use_case
            and g.version == version
            and g.status in (PROPOSED, ACTIVE)
            and g.expires_at > CLOCK.now
            for g in self.state.grants.values()
        )

    @precondition(lambda self: self.state.versions)
    @rule(
        gap=GAPS,
        data=st.data(),
        lasts=st.sampled_from([None, 30, 0, 1, 7, 90]),
        then=st.sampled_from(["sign", "sign", "nothing"]),
    )
    def propose(self, gap, data, lasts, then):
        """Propose an authorization (maybe with a fallback, maybe short, maybe effective
        later), and maybe sign it until it is in force; now and then one to be refused (a
        proposer without the role, a version not approved or already authorized, backdated,
        longer than the policy allows, a fallback not in force for the use)."""
        self.tick(gap)
        candidates = [  # the newest versions first
            (use_case, version)
            for version in reversed(self.state.versions.values())
            for use_case, model in sorted(USE_CASES.items())
            if version.model == model
            and version.stage in (Stage.APPROVED, *SERVING)
            and version.review is None
            and not self.pending(use_case, version.subject)
        ]
        usual = bool(candidates) and data.draw(USUALLY, label="usual")
        if usual:
            use_case, version = data.draw(st.sampled_from(candidates), label="proposal")
            proposer = data.draw(st.sampled_from(["dana", "alice", "bob", "marc", "tess"]))
            starts = data.draw(st.sampled_from([0, 0, 1, 3]), label="starts")
            fallbacks = [
                v
                for v in sorted(self.state.versions)
                if v != version.subject and self.state.in_force(v, CLOCK.now, use_case)
            ]
        else:
            use_case = data.draw(st.sampled_from(sorted(USE_CASES)), label="use_case")
            version = data.draw(st.sampled_from(list(self.state.versions.values())), label="v")
            proposer = data.draw(st.sampled_from(sorted(ROLES)), label="proposer")
            starts = data.draw(st.sampled_from([0, -1]), label="starts")
            lasts = data.draw(st.sampled_from([lasts, "too long"]), label="lasts")
            fallbacks = [v for v in sorted(self.state.versions) if v != version.subject]
        fallback = data.draw(st.sampled_from([*fallbacks, None]), label="fallback")
        effective_on = self.today() + timedelta(days=starts)
        if lasts is None:
            expires_on = None
        elif lasts == "too long":
            expires_on = add_months(effective_on, REVIEW_MONTHS[MODELS[version.model]])
        else:
            expires_on = effective_on + timedelta(days=lasts)
        grant = self.propose_grant(use_case, version, proposer, effective_on, expires_on, fallback)
        if grant is not None and then == "sign":
            self.sign_until(data, grant, lambda: grant.status != PROPOSED)

    def moves(self) -> list[tuple[Version, Stage, str]]:
        """Stage changes allowed now, (version, stage, who): into service before out of it,
        the newest versions first."""
        order = [Stage.CANARY, Stage.SHADOW, Stage.PRODUCTION, Stage.APPROVED, Stage.DEPRECATED]
        order.append(Stage.RETIRED)
        return [
            (version, to, who)
            for version in reversed(self.state.versions.values())
            for to in order
            for who in ("dana", "alice", "marc")
            if self.state.stage_refusal(version, to, who, CLOCK.now) is None
        ]

    @precondition(lambda self: self.moves())
    @rule(gap=GAPS, data=st.data())
    def change_stage(self, gap, data):
        """Deploy, withdraw, deprecate or retire a version (or try a move that is refused)."""
        self.tick(gap)
        if data.draw(USUALLY, label="usual"):
            moves = self.moves()
            # First where to, then which version: rare moves are not drowned out.
            to = data.draw(st.sampled_from(list(dict.fromkeys(t for _, t, _ in moves))))
            choices = [(v, w) for v, t, w in moves if t == to]
            version, who = data.draw(st.sampled_from(choices), label="move")
        else:
            version = data.draw(st.sampled_from(list(self.state.versions.values())), label="v")
            to = data.draw(st.sampled_from(sorted(Stage)), label="to")
            who = data.draw(st.sampled_from(sorted(ROLES)), label="who")
        self.move(version, to, who)

    def rollback_refusal(self, use_case: str, who: str) -> tuple[str | None, str | None]:
        """Why the rollback must be refused (or None), and the fallback it would restore."""
        current = self.state.production(USE_CASES[use_case])
        # The fallback named by the latest authorization of the version in production for
        # this use that was ever activated (active, or revoked since).
        granted = [
            g
            for g in self.state.grants.values()
            if g.use_case == use_case
            and any(g.version == v.subject for v in current)
            and g.status in (ACTIVE, REVOKED)
        ]
        latest = max(granted, key=lambda g: g.number) if granted else None
        fallback = None if latest is None else latest.fallback
        if not ROLES[who] & GOVERNORS:
            return f"{who} may not roll back", fallback
        if not current:
            return "nothing in production", fallback
        if fallback is None:
            return "no fallback authorized with the version in production", fallback
        if not self.state.in_force(fallback, CLOCK.now, use_case):
            return LAPSED, fallback
        if self.state.versions[fallback].stage in (Stage.REJECTED, Stage.RETIRED):
            return WITHDRAWN, fallback
        if self.state.versions[fallback].review is not None:
            return "the fallback has a monitoring review outstanding", fallback
        return None, fallback

    def roll_back(self, use_case: str, who: str) -> None:
        """Roll the use case back, as the model predicts (accepted or refused)."""
        reason, fallback = self.rollback_refusal(use_case, who)

        def call() -> ModelVersion:
            return authorizations.rollback(
                use_case=UseCase.objects.get(slug=use_case), reason="INC-7", by=self.person(who)
            )

        if reason is not None:
            self.refused(reason, call)
            return
        assert fallback is not None
        assert call().subject == fallback
        for current in self.state.production(USE_CASES[use_case]):
            current.stage = Stage.DEPRECATED
        self.state.versions[fallback].stage = Stage.PRODUCTION

    def rollbacks(self, *refusals: str | None) -> list[str]:
        """The use cases whose rollback now is accepted (None) or refused for `refusals`."""
        return [u for u in sorted(USE_CASES) if self.rollback_refusal(u, "ada")[0] in refusals]

    @precondition(lambda self: self.rollbacks(None))
    @rule(gap=GAPS, data=st.data(), who=st.sampled_from(["alice", "marc", "ada", "tess", "dana"]))
    def rollback(self, gap, data, who):
        """Put a use case's fallback back into production (a developer may not)."""
        self.tick(gap)
        self.roll_back(data.draw(st.sampled_from(self.rollbacks(None)), label="use_case"), who)

    @precondition(lambda self: self.rollbacks(LAPSED, WITHDRAWN))
    @rule(gap=GAPS, data=st.data())
    def rollback_to_a_lapsed_fallback(self, gap, data):
        """A rollback whose fallback's authorization has expired or been revoked since, or
        which has been retired: refused."""
        self.tick(gap)
        use_case = data.draw(st.sampled_from(self.rollbacks(LAPSED, WITHDRAWN)), label="uc")
        self.roll_back(use_case, "alice")

    @precondition(
        lambda self: any(
            v.stage in (*SERVING, Stage.DEPRECATED) for v in self.state.versions.values()
        )
    )
    @rule(
        gap=GAPS,
        data=st.data(),
        value=VALUES,
        ended=st.sampled_from([0, 0, 1, 7, 14, 30]),
    )
    def monitor(self, gap, data, value, ended):
        """Record an AUC figure over a week; outside the model's bounds, a review is due. Now
        and then someone without the role, a version not in use or a window not over yet."""
        self.tick(gap)
        in_use = [
            v for v in self.state.versions.values() if v.stage in (*SERVING, Stage.DEPRECATED)
        ]
        usual = data.draw(USUALLY, label="usual")
        version = data.draw(
            st.sampled_from(in_use if usual else list(self.state.versions.values())),
            label="version",
        )
        who = data.draw(st.sampled_from(["dana", "vic"] if usual else ["wendy", "alice"]), "who")
        ended = ended if usual else data.draw(st.sampled_from([0, -1]), label="ended")
        end = self.today() - timedelta(days=ended)
        window = (end - timedelta(days=6), end)
        reason = None
        if not ROLES[who] & MONITORS:
            reason = f"{who} may not record monitoring"
        elif version.stage not in (*SERVING, Stage.DEPRECATED):
            reason = f"{version.subject} is not in use"
        elif end > self.today():
            reason = "a window in the future"
        elif window in version.windows:
            reason = "this window is recorded already"

        def call() -> MonitoringRecord:
            return monitoring.record_monitoring(
                version=ModelVersion.objects.get(subject=version.subject),
                metric="auc",
                value=value,
                window_start=window[0],
                window_end=window[1],
                by=self.person(who),
            )

        if reason is not None:
            self.refused(reason, call)
            return
        record = call()
        lower, upper = self.state.thresholds.get(version.model, (None, None))
        breach = (lower is not None and Decimal(value) < Decimal(lower)) or (
            upper is not None and Decimal(value) > Decimal(upper)
        )
        assert record.breach == breach
        version.windows.add(window)
        if breach and version.review is None:
            self.state.reviews += 1
            version.review = self.state.reviews

    @precondition(lambda self: any(v.stage in SERVING for v in self.state.versions.values()))
    @rule(
        gap=GAPS,
        model=st.sampled_from(sorted(MODELS)),
        bounds=BOUNDS,
        who=st.sampled_from(["vic", "marc", "vic", "dana"]),
    )
    def set_threshold(self, gap, model, bounds, who):
        """Set the model's AUC bounds (a developer may not)."""
        self.tick(gap)
        if ROLES[who] & THRESHOLD_SETTERS:
            self.set_bounds(model, bounds, who)
        else:
            self.refused(
                f"{who} may not set thresholds", lambda: self.set_bounds(model, bounds, who)
            )

    # --- checks ---

    def snapshot_at(self, moment: datetime) -> Snapshot | None:
        index = bisect.bisect_right(self.times, moment) - 1
        return self.history[index] if index >= 0 else None

    def check_as_of(self, moment: datetime, model: str | None = None, use_case: str | None = None):
        answer = as_of(
            moment,
            by=self.reader,
            model=None if model is None else RegisteredModel.objects.get(slug=model),
            use_case=None if use_case is None else UseCase.objects.get(slug=use_case),
        )
        want = expected(self.snapshot_at(moment), moment, model, use_case)
        assert observed(answer) == want, f"as_of({moment.isoformat()}, {model=}, {use_case=})"

    def moments(self) -> list[datetime]:
        """Every step's moment and the instant before it, the instants halfway between steps,
        each authorization's first and last instant and the ones just outside them, a moment
        before the registry existed and one long after the last step."""
        found = {START - timedelta(days=1), START - MICRO, CLOCK.now + timedelta(days=3650)}
        for before, after in zip(self.times[:1] + self.times[:-1], self.times, strict=True):
            found |= {after, after - MICRO, before + (after - before) / 2}
        return sorted(found | self.edges())

    def edges(self) -> set[datetime]:
        """Where authorizations come into force and lapse, and the instants just before."""
        found = set()
        for grant in self.state.grants.values():
            for edge in (grant.effective_from, grant.expires_at):
                found |= {edge - MICRO, edge}
        return found

    @invariant()
    def as_of_agrees_with_the_model(self):
        now = CLOCK.now
        snapshot = Snapshot(now, copy.deepcopy(self.state))
        if self.times and self.times[-1] == now:
            self.history[-1] = snapshot  # two steps at one instant: it shows the later state
        else:
            self.history.append(snapshot)
            self.times.append(now)
        self.check_as_of(now)
        # Then, in turn: just before this step (the state before it), an earlier moment, or
        # the version usable for a use case now; for everything, one model or one use case.
        # Chosen by the history's length, so that a run repeats.
        turn = len(self.times)
        pick = Random(turn)
        if turn % 2:
            self.check_as_of(now - MICRO, *pick.choice(SCOPES))
        elif turn % 4 == 0:
            self.check_as_of(pick.choice(self.moments()), *pick.choice(SCOPES))
        else:
            use_case = pick.choice(sorted(USE_CASES))
            in_use = expected(snapshot, now, None, use_case)["use_cases"][use_case][2]
            assert usable_version(UseCase.objects.get(slug=use_case), now, by=self.reader) == in_use
        self.settled = True

    def teardown(self):
        try:
            # Only after a history whose every step passed: after a failure, that failure is
            # the report (teardown runs in hypothesis's `finally`).
            if self.settled:
                # Again, now that the history is complete: a sample of the authorizations'
                # edges and of the other moments (each step's moment was checked at that step).
                pick = Random(len(self.times))
                edges, others = sorted(self.edges()), sorted(set(self.moments()) - self.edges())
                sample = pick.sample(edges, min(len(edges), 6))
                sample += pick.sample(others, min(len(others), 4))
                for moment in sorted(sample):
                    self.check_as_of(moment)
                result = replay.check()
                assert result.clean, (result.differences[:10], result.anomalies[:10])
                verify_database(pipelined=False)
        finally:
            self.exit.close()


HISTORIES = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_generated_histories_as_of_and_replay(db, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", CLOCK)
    # People are enrolled once, the day before every history starts; each history's own
    # writes are rolled back after it.
    CLOCK.now = START - timedelta(days=1)
    PEOPLE_ONCE[:] = [make_people()]
    run_state_machine_as_test(RegistryHistory, settings=HISTORIES)


# --- Rules the generated histories reach only rarely ---------------------------------------------


def test_rollback_waits_for_an_outstanding_review(people):
    """The README: a monitoring breach marks a version review required, "which blocks new
    authorizations and promotion to canary or production until an independent validator
    signs a reviewed signature". A rollback promotes its fallback to production, but only
    checks that the fallback is authorized and not rejected or retired."""
    model = make_model(people)
    use_case = make_use_case(people, model)
    first = approve(people, make_version(people, model, 1))
    authorize(people, first, use_case)
    deploy(people, first)
    second = approve(people, make_version(people, model, 2))
    authorize(people, second, use_case, fallback=reload(first))
    deploy(people, second)  # the first is deprecated, still in use for monitoring
    monitoring.set_threshold(model=model, metric="auc", lower="0.70", by=people.vic)
    today = timezone.localdate()
    monitoring.record_monitoring(
        version=reload(first),
        metric="auc",
        value="0.55",
        window_start=today,
        window_end=today,
        by=people.vic,
    )
    assert reload(first).review_required
    with pytest.raises(DomainError, match="review"):
        authorizations.rollback(use_case=use_case, reason="INC-7", by=people.alice)
