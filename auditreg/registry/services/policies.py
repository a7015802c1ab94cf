"""Risk-tier policies: which signatures a tier's approvals and authorizations need, and how
long an authorization runs before review."""

from typing import Any

from django.db import transaction

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.proofs.checks import check_choice
from auditreg.registry.domain import RiskTier, check_requirements
from auditreg.registry.models import Policy

DEFAULT_POLICIES: dict[RiskTier, dict[str, Any]] = {
    RiskTier.HIGH: {
        "approval": [
            {"role": "validator", "meaning": "validated", "count": 1},
            {"role": "approver", "meaning": "approved", "count": 1},
            {"role": "model_risk_committee", "meaning": "approved", "count": 1},
        ],
        "authorization": [
            {"role": "approver", "meaning": "approved", "count": 1},
            {"role": "model_risk_committee", "meaning": "approved", "count": 1},
        ],
        "review_months": 12,
    },
    RiskTier.MEDIUM: {
        "approval": [
            {"role": "validator", "meaning": "validated", "count": 1},
            {"role": "approver", "meaning": "approved", "count": 1},
        ],
        "authorization": [{"role": "approver", "meaning": "approved", "count": 1}],
        "review_months": 18,
    },
    RiskTier.LOW: {
        "approval": [{"role": "approver", "meaning": "approved", "count": 1}],
        "authorization": [{"role": "approver", "meaning": "approved", "count": 1}],
        "review_months": 24,
    },
}


@transaction.atomic(durable=True)
def set_policy(
    *,
    risk_tier: RiskTier,
    approval: list[dict[str, Any]],
    authorization: list[dict[str, Any]],
    review_months: int,
    by: Principal,
) -> Policy:
    """Set which signatures a tier's approvals and authorizations need. Idempotent."""
    require_role(by, {Role.MODEL_RISK_COMMITTEE, Role.ADMINISTRATOR}, "set policies")
    tier = check_choice(risk_tier, RiskTier, "risk tier")
    if not isinstance(review_months, int) or not 1 <= review_months <= 60:
        raise DomainError("review interval must be a whole number of months from 1 to 60")
    payload = {
        "risk_tier": tier.value,
        "approval": [r.as_json() for r in check_requirements(approval, "approval")],
        "authorization": [r.as_json() for r in check_requirements(authorization, "authorization")],
        "review_months": review_months,
    }
    current = Policy.objects.filter(risk_tier=tier).first()
    if current is not None and _policy_payload(current) == payload:
        return current
    write_fact(kind="policy.set", subject=f"policy:{tier}", payload=payload, by=by)
    return Policy.objects.get(risk_tier=tier)


def _policy_payload(policy: Policy) -> dict[str, Any]:
    return {
        "risk_tier": policy.risk_tier,
        "approval": policy.approval,
        "authorization": policy.authorization,
        "review_months": policy.review_months,
    }
