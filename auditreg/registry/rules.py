"""The registry's rules, decided from plain values: which roles may do what, who built a
version, whether a signature counts, what a tier's policy still needs, and which decisions a
person's roles may give on a record as it stands.

Each rule is written here once. The services enforce them; the portal, the dashboard and the
reports show what they decide, from the same definition. Pure (no Django, no database):
`auditreg.registry.selectors` reads their inputs from the tables.
"""

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from auditreg.accounts.domain import Role
from auditreg.errors import DomainError
from auditreg.registry.domain import (
    DEPLOYED,
    AuthorizationStatus,
    Meaning,
    Requirement,
    Stage,
    package_authors,
)

# --- Who may do what ---------------------------------------------------------------------------

# Govern a model's use: define use cases, revoke an authorization in force, roll a use case
# back, take a version out of service (deprecate, retire).
GOVERNORS = frozenset({Role.APPROVER, Role.MODEL_RISK_COMMITTEE, Role.ADMINISTRATOR})
# Put an approved version into service (shadow, canary, production) or take it back to approved.
DEPLOYERS = frozenset({Role.DEVELOPER, Role.APPROVER, Role.ADMINISTRATOR})
# Propose authorizing a version for a use case.
PROPOSERS = frozenset({Role.DEVELOPER, Role.APPROVER, Role.MODEL_RISK_COMMITTEE})
# Ask a version's developers for changes instead of signing (while it is in validation).
CHANGE_REQUESTERS = (Role.VALIDATOR, Role.APPROVER, Role.MODEL_RISK_COMMITTEE)
# A rejection or a revocation must say why.
NEEDS_COMMENT = frozenset({Meaning.REJECTED, Meaning.REVOKED})


def holds(roles: Iterable[str], allowed: Iterable[Role]) -> bool:
    """Whether someone holding `roles` (role values) holds one of `allowed`."""
    return not set(roles).isdisjoint(role.value for role in allowed)


def role_words(role: str) -> str:
    """A role (a `Role` or its stored value) as a person reads it: `model risk committee`."""
    return Role(role).label


def roles_words(roles: Iterable[str]) -> list[str]:
    """Roles in words, in alphabetical order."""
    return sorted(role_words(role) for role in roles)


# --- Who built a version (separation of duties) --------------------------------------------------


def builders(
    recorded: Iterable[tuple[str, Mapping[str, Any]]], authored: Iterable[str]
) -> set[str]:
    """Who built a version, so that none of them validates, approves or authorizes it.

    `recorded`: (actor, package) of the version's registration and of each correction of its
    facts; `authored`: whoever signed *authored* on it, whatever facts that signature was bound
    to. The builders are those actors, the code and training-run authors of every package the
    version ever had, and the authors. A correction never takes anyone out of this set.
    """
    found = set(authored)
    for actor, package in recorded:
        found.add(actor)
        found |= package_authors(package)
    return found


# --- Signatures and policies ---------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """One signature, as far as a policy is concerned."""

    signer: str
    role: str
    meaning: str


def counts(*, binding_valid: bool, signed_facts: object, facts: str) -> bool:
    """Whether a signature counts on a record: its content was this record's when it was
    recorded (`binding_valid`), and it is bound to the facts the record has now (`facts`), so
    a correction voids the signatures given on the facts it replaced."""
    return binding_valid and signed_facts == facts


def requirement_words(requirement: Requirement) -> str:
    """A policy requirement in words: `1 approved by model risk committee`."""
    return f"{requirement.count} {requirement.meaning} by {role_words(requirement.role)}"


def policy_words(requirements: Iterable[Requirement]) -> str:
    """What a decision needs under a policy, in words: requirements joined by `; `."""
    return "; ".join(requirement_words(r) for r in requirements)


def shortfall(
    requirements: Iterable[Requirement], signed: Iterable[Signed]
) -> list[tuple[Requirement, int]]:
    """Each requirement not yet met, with how many signatures it still needs.

    A signer counts once on a decision, so one person never fills two required roles.
    """
    short = []
    seen: set[str] = set()
    signed = list(signed)
    for requirement in requirements:
        signers = {
            s.signer
            for s in signed
            if s.role == requirement.role
            and s.meaning == requirement.meaning
            and s.signer not in seen
        }
        seen |= signers
        if len(signers) < requirement.count:
            short.append((requirement, requirement.count - len(signers)))
    return short


def missing_signatures(requirements: Iterable[Requirement], signed: Iterable[Signed]) -> list[str]:
    """What the policy still needs, in words (`1 more approved by approver`); empty when met."""
    return [
        f"{n} more {requirement.meaning} by {role_words(requirement.role)}"
        for requirement, n in shortfall(requirements, signed)
    ]


def signable_now(
    requirements: Sequence[Requirement], signed: Sequence[Signed]
) -> list[Requirement]:
    """The requirements that can be signed next: approvals wait for the validation sign-off."""
    validations = [r for r in requirements if r.meaning == Meaning.VALIDATED]
    return validations if shortfall(validations, signed) else list(requirements)


def open_roles(requirements: Sequence[Requirement], signed: Sequence[Signed]) -> set[str]:
    """The roles whose signature the policy waits for next (role values)."""
    return {r.role.value for r, _ in shortfall(signable_now(requirements, signed), signed)}


def no_policy(tier: str) -> DomainError:
    return DomainError(
        f"there is no policy for the {tier} risk tier: the model risk committee or an "
        "administrator must set one first",
        code="no_policy",
    )


def latest_expiry(review_months: int, effective_on: date) -> date:
    """The last day an authorization effective on `effective_on` may run under a policy that
    asks for review every `review_months` months; also the default expiry."""
    return _add_months(effective_on, review_months) - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- Which decisions may be signed ---------------------------------------------------------------


@dataclass(frozen=True)
class VersionState:
    """A version as the signing rules see it."""

    subject: str
    tier: str
    stage: str
    review_required: bool
    # The signatures that count on its current facts.
    signed: tuple[Signed, ...] = ()


@dataclass(frozen=True)
class AuthorizationState:
    """An authorization, and the version it is for, as the signing rules see them."""

    subject: str
    tier: str
    status: str
    version: str
    version_stage: str
    version_review_required: bool


State = VersionState | AuthorizationState

# The meanings each kind of record is signed with, in the order they are offered.
VERSION_MEANINGS = (
    Meaning.AUTHORED,
    Meaning.VALIDATED,
    Meaning.APPROVED,
    Meaning.REJECTED,
    Meaning.REVIEWED,
)
AUTHORIZATION_MEANINGS = (Meaning.APPROVED, Meaning.REJECTED, Meaning.REVOKED)


def check_decision(
    state: State, meaning: Meaning, role: Role, requirements: Sequence[Requirement] | None
) -> None:
    """Refuse (DomainError) a signature with `meaning` in `role` on the record as it stands.

    `requirements`: the tier policy's requirements for the record's decision (approval for a
    version, authorization for an authorization); None when the tier has no policy. Who signs
    (role held, separation of duties, password) is checked by the service.
    """
    if isinstance(state, VersionState):
        _check_version_decision(state, meaning, role, requirements)
    else:
        _check_authorization_decision(state, meaning, role, requirements)


def _check_version_decision(
    state: VersionState,
    meaning: Meaning,
    role: Role,
    requirements: Sequence[Requirement] | None,
) -> None:
    if meaning == Meaning.AUTHORED:
        _expect(state.stage == Stage.DEVELOPMENT, f"{state.subject} is not in development")
        _expect(role == Role.DEVELOPER, "a version is authored by a developer")
    elif meaning == Meaning.REVIEWED:
        _expect(state.review_required, f"{state.subject} has no monitoring review due")
        _expect(role == Role.VALIDATOR, "a monitoring review is signed by a validator")
    elif meaning in (Meaning.VALIDATED, Meaning.APPROVED, Meaning.REJECTED):
        _expect(
            state.stage == Stage.VALIDATION,
            f"{state.subject} is {state.stage}, not in validation",
        )
        required = _policy(requirements, state.tier)
        _check_role_fits(required, meaning, role, state.tier, "approval")
        now = signable_now(required, state.signed)
        if meaning == Meaning.APPROVED and all(r.meaning != Meaning.APPROVED for r in now):
            raise DomainError(f"{state.subject} needs its validation sign-off before approvals")
    else:
        raise DomainError(f"a model version is not signed as {meaning}")


def _check_authorization_decision(
    state: AuthorizationState,
    meaning: Meaning,
    role: Role,
    requirements: Sequence[Requirement] | None,
) -> None:
    if meaning == Meaning.REVOKED:
        _expect(state.status == AuthorizationStatus.ACTIVE, f"{state.subject} is {state.status}")
        _expect(role in GOVERNORS, "revocation is signed by an approver, the committee or admin")
    elif meaning in (Meaning.APPROVED, Meaning.REJECTED):
        _expect(
            state.status == AuthorizationStatus.PROPOSED,
            f"{state.subject} is {state.status}, not awaiting decision",
        )
        # A proposal can always be rejected; approving it needs a version still fit for use.
        fit = state.version_stage in (Stage.APPROVED, *DEPLOYED) and not (
            state.version_review_required
        )
        _expect(
            meaning == Meaning.REJECTED or fit,
            f"{state.version} is {state.version_stage}"
            + (" with a monitoring review outstanding" if state.version_review_required else "")
            + "; it cannot be authorized now",
        )
        required = _policy(requirements, state.tier)
        _check_role_fits(required, meaning, role, state.tier, "authorization")
    else:
        raise DomainError(f"an authorization is not signed as {meaning}")


def _policy(requirements: Sequence[Requirement] | None, tier: str) -> Sequence[Requirement]:
    if requirements is None:
        raise no_policy(tier)
    return requirements


def _check_role_fits(
    requirements: Sequence[Requirement], meaning: Meaning, role: Role, tier: str, what: str
) -> None:
    """A rejection is given by a role the policy asks to sign; any other meaning fills one of
    the policy's requirements."""
    if meaning == Meaning.REJECTED:
        fits = any(r.role == role for r in requirements)
    else:
        fits = any(r.role == role and r.meaning == meaning for r in requirements)
    if not fits:
        raise DomainError(
            f"the {tier}-tier policy has no place for {meaning} by {role_words(role)} on an "
            f"{what} (it needs: {policy_words(requirements)})",
            code="not_in_policy",
        )


def _expect(condition: bool, reason: str) -> None:
    if not condition:
        raise DomainError(reason)


def offerable_decisions(
    state: State, roles: Iterable[str], requirements: Sequence[Requirement] | None
) -> list[tuple[Meaning, Role]]:
    """The (meaning, role) signatures that someone holding `roles` may give on the record as
    it stands: exactly those `check_decision` accepts, in the order they are offered (by role,
    then meaning)."""
    held = set(roles)
    meanings = VERSION_MEANINGS if isinstance(state, VersionState) else AUTHORIZATION_MEANINGS
    found = []
    for role in Role:
        if role.value not in held:
            continue
        for meaning in meanings:
            try:
                check_decision(state, meaning, role, requirements)
            except DomainError:
                continue
            found.append((meaning, role))
    return found


def check_change_request(state: VersionState, role: Role) -> None:
    """Refuse a request for changes in `role` on the version as it stands."""
    if role not in CHANGE_REQUESTERS:
        raise DomainError("changes are requested by a validator, an approver or the committee")
    if state.stage != Stage.VALIDATION:
        raise DomainError(f"{state.subject} is {state.stage}, not in validation")


def change_request_roles(state: VersionState, roles: Iterable[str]) -> list[Role]:
    """The roles in which someone holding `roles` may ask for changes on the version now:
    exactly those `check_change_request` accepts."""
    held = set(roles)
    found = []
    for role in CHANGE_REQUESTERS:
        if role.value not in held:
            continue
        try:
            check_change_request(state, role)
        except DomainError:
            continue
        found.append(role)
    return found
