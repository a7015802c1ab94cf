"""Plain factories for registry tests: people with roles, packages, versions through their
lifecycle. Everything goes through the services, as a user would."""

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import SYSTEM
from auditreg.registry.domain import Meaning, RiskTier, Stage
from auditreg.registry.models import Authorization, ModelVersion, RegisteredModel, UseCase
from auditreg.registry.services import authorizations, policies, signatures, versions

PEOPLE = {
    "ada": ("Ada Administrator", [Role.ADMINISTRATOR]),
    "dana": ("Dana Developer", [Role.DEVELOPER]),
    "vic": ("Victor Validator", [Role.VALIDATOR]),
    "wendy": ("Wendy Validator", [Role.VALIDATOR]),
    "alice": ("Alice Approver", [Role.APPROVER]),
    "bob": ("Bob Approver", [Role.APPROVER]),
    "marc": ("Marc Riskcommittee", [Role.MODEL_RISK_COMMITTEE]),
    # Holds two roles, to try filling both on one decision.
    "tess": ("Tess Twohats", [Role.APPROVER, Role.MODEL_RISK_COMMITTEE]),
    "olga": ("Olga Auditor", [Role.AUDITOR]),
    "mallory": ("Mallory Nobody", []),
}


def password(username: str) -> str:
    return f"pw-{username}-correct"


@dataclass
class People:
    by_name: dict[str, Principal]

    def __getattr__(self, name: str) -> Principal:
        try:
            return self.by_name[name]
        except KeyError:
            raise AttributeError(name) from None


def make_people() -> People:
    people = {}
    ada = accounts.enroll_person(
        username="ada",
        printed_name="Ada Administrator",
        roles=[Role.ADMINISTRATOR],
        password=password("ada"),
        by=SYSTEM,
    )
    people["ada"] = ada
    for username, (name, roles) in PEOPLE.items():
        if username == "ada":
            continue
        people[username] = accounts.enroll_person(
            username=username,
            printed_name=name,
            roles=roles,
            password=password(username),
            time_zone="America/New_York",
            by=ada,
        )
    people["trainer"] = accounts.enroll_service(
        name="trainer", printed_name="Nightly training pipeline", roles=[Role.DEVELOPER], by=ada
    )
    for tier, policy in policies.DEFAULT_POLICIES.items():
        policies.set_policy(risk_tier=tier, **policy, by=people["marc"])
    return People(people)


def make_package(n: int = 1, **overrides: Any) -> dict[str, Any]:
    package: dict[str, Any] = {
        "artifact": {
            "uri": f"s3://models/credit-pd/{n}/model.txt",
            "digest": "sha256:" + hashlib.sha256(f"artifact {n}".encode()).hexdigest(),
        },
        "flavor": "lightgbm",
        "code": {
            "repository": "git@git.bank.example:risk/credit-pd.git",
            "commit": hashlib.sha1(f"commit {n}".encode(), usedforsecurity=False).hexdigest(),
            "authors": ["user:dana"],
        },
        "hyperparameters": {"num_leaves": 63, "learning_rate": "0.05"},
        "metrics": {"auc": "0.84"},
        "training_run": {"id": f"run:credit-pd/{n}", "authors": ["user:dana"]},
    }
    package.update(overrides)
    return package


def make_model(
    people: People, slug: str = "credit-pd", tier: RiskTier = RiskTier.HIGH
) -> RegisteredModel:
    return versions.register_model(
        slug=slug,
        name=slug.replace("-", " ").title(),
        owner="Retail Credit Risk",
        domain="credit risk",
        risk_tier=tier,
        intended_purpose="12-month PD for applicants",
        limitations="Not for small business",
        by=people.dana,
    )


def sign(
    who: Principal,
    record: ModelVersion | Authorization,
    meaning: Meaning,
    role: Role,
    comment: str = "ok",
    **extra: Any,
) -> Any:
    return signatures.sign(
        record=record,
        meaning=meaning,
        role=role,
        password=password(who.username),
        comment=comment,
        by=who,
        **extra,
    )


def make_version(people: People, model: RegisteredModel, n: int = 1) -> ModelVersion:
    version, _ = versions.register_version(model=model, package=make_package(n), by=people.trainer)
    return version


def submit(people: People, version: ModelVersion) -> ModelVersion:
    sign(people.dana, version, Meaning.AUTHORED, Role.DEVELOPER)
    return reload(version)


def approve(people: People, version: ModelVersion) -> ModelVersion:
    """Through validation with the high-tier policy's signatures."""
    if version.stage == Stage.DEVELOPMENT:
        submit(people, version)
    sign(people.vic, version, Meaning.VALIDATED, Role.VALIDATOR)
    sign(people.alice, version, Meaning.APPROVED, Role.APPROVER)
    sign(people.marc, version, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE)
    return reload(version)


def make_use_case(people: People, model: RegisteredModel, slug: str = "us-retail-pd") -> UseCase:
    return authorizations.create_use_case(
        slug=slug,
        title="US retail PD scoring",
        model=model,
        population="US retail applicants",
        by=people.alice,
    )


def authorize(
    people: People,
    version: ModelVersion,
    use_case: UseCase,
    fallback: ModelVersion | None = None,
    expires_on: date | None = None,
) -> Authorization:
    authorization = authorizations.propose_authorization(
        version=version,
        use_case=use_case,
        effective_on=timezone.localdate(),
        conditions=["Quarterly PSI below 0.25"],
        fallback=fallback,
        expires_on=expires_on,
        by=people.dana,
    )
    sign(people.alice, authorization, Meaning.APPROVED, Role.APPROVER)
    sign(people.marc, authorization, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE)
    return Authorization.objects.get(pk=authorization.pk)


def deploy(people: People, version: ModelVersion, stage: Stage = Stage.PRODUCTION) -> ModelVersion:
    return versions.change_stage(version=version, to=stage, reason="CHG-1", by=people.dana)


def reload(version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.select_related("model").get(pk=version.pk)
