"""The registry's vocabulary and the checks of what it records, needing no database: stages,
signature meanings, the model package, signed content and policy requirements. The rules
that decide from them (who may sign what, who built a version) are `rules`.

Pure code (no Django), shared by the services that write facts and the projection that
rebuilds them from the ledger.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditreg.accounts.domain import Role
from auditreg.errors import DomainError
from auditreg.proofs.checks import (
    COMMIT,
    check_actors,
    check_bool,
    check_choice,
    check_decimal,
    check_digest,
    check_list,
    check_object,
    check_string_map,
    check_text,
    sha256_of,
)


class RiskTier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Stage(StrEnum):
    DEVELOPMENT = "development"
    VALIDATION = "validation"
    REJECTED = "rejected"
    APPROVED = "approved"
    SHADOW = "shadow"
    CANARY = "canary"
    PRODUCTION = "production"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class Meaning(StrEnum):
    """The meaning of an electronic signature (21 CFR 11.50(a)(3))."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    VALIDATED = "validated"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class AuthorizationStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    REJECTED = "rejected"
    REVOKED = "revoked"


# Stage changes a person may ask for directly. Entering validation (a signature meaning
# "authored"), leaving it (approved when the policy is met, rejected by a signature) and
# rollbacks are made by their own services.
MANUAL_TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.DEVELOPMENT: frozenset({Stage.RETIRED}),
    Stage.VALIDATION: frozenset(),
    Stage.REJECTED: frozenset({Stage.RETIRED}),
    Stage.APPROVED: frozenset(
        {Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION, Stage.DEPRECATED, Stage.RETIRED}
    ),
    Stage.SHADOW: frozenset({Stage.CANARY, Stage.PRODUCTION, Stage.APPROVED, Stage.RETIRED}),
    Stage.CANARY: frozenset({Stage.SHADOW, Stage.PRODUCTION, Stage.APPROVED, Stage.RETIRED}),
    Stage.PRODUCTION: frozenset({Stage.DEPRECATED}),
    Stage.DEPRECATED: frozenset({Stage.RETIRED}),
    Stage.RETIRED: frozenset(),
}
# Stages in which a version serves (or shadows) real decisions.
DEPLOYED = frozenset({Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION})
# Serving real decisions needs an active authorization for a use case of the model.
NEEDS_AUTHORIZATION = frozenset({Stage.CANARY, Stage.PRODUCTION})

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def version_subject(model_slug: str, number: int) -> str:
    return f"model:{model_slug}/{number}"


def authorization_subject(use_case_slug: str, number: int) -> str:
    return f"authorization:{use_case_slug}/{number}"


def check_slug(value: object, what: str) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise DomainError(
            f"{what} {value!r} is not valid: use lower-case letters, digits and hyphens "
            "(at most 63 characters), such as 'credit-pd'"
        )
    return value


# --- The model package -------------------------------------------------------------------------

PACKAGE_FIELDS = {
    "artifact",
    "flavor",
    "framework",
    "code",
    "environment",
    "hyperparameters",
    "metrics",
    "schema",
    "training_run",
    "data",
}


def check_package(package: object) -> dict[str, Any]:
    """Validate a model package; return it with defaults filled, ready to be hashed.

    A package is what makes a version reproducible: artifact (URI, SHA-256), flavor and
    framework, code (repository, commit, dirty flag, authors), environment (lock-file
    digest, Python, key packages), hyperparameters, metrics (decimal strings), input and
    output schema, the training run and the data snapshots it came from.
    """
    if not isinstance(package, Mapping):
        raise DomainError("the model package must be a JSON object")
    unknown = sorted(set(package) - PACKAGE_FIELDS)
    if unknown:
        raise DomainError(f"the model package has unknown fields: {', '.join(unknown)}")
    artifact = check_object(package.get("artifact"), "package.artifact", required=True)
    checked: dict[str, Any] = {
        "artifact": {
            "uri": check_text(artifact.get("uri"), "package.artifact.uri", limit=1000),
            "digest": check_digest(artifact.get("digest"), "package.artifact.digest"),
            "media_type": check_text(
                artifact.get("media_type", ""), "package.artifact.media_type", required=False
            ),
        },
        "flavor": check_text(package.get("flavor"), "package.flavor", limit=100),
    }
    framework = check_object(package.get("framework"), "package.framework")
    checked["framework"] = {
        "name": check_text(framework.get("name", ""), "package.framework.name", required=False),
        "version": check_text(
            framework.get("version", ""), "package.framework.version", required=False
        ),
    }
    code = check_object(package.get("code"), "package.code")
    commit = code.get("commit", "")
    if commit and (not isinstance(commit, str) or not COMMIT.fullmatch(commit)):
        raise DomainError("package.code.commit must be a full git commit id (40 or 64 hex)")
    checked["code"] = {
        "repository": check_text(
            code.get("repository", ""), "package.code.repository", required=False
        ),
        "commit": commit,
        "dirty": check_bool(code.get("dirty", False), "package.code.dirty"),
        "authors": check_actors(code.get("authors", []), "package.code.authors"),
    }
    environment = check_object(package.get("environment"), "package.environment")
    lock = environment.get("lock_digest", "")
    checked["environment"] = {
        "lock_digest": check_digest(lock, "package.environment.lock_digest") if lock else "",
        "python": check_text(
            environment.get("python", ""), "package.environment.python", required=False
        ),
        "packages": check_string_map(
            environment.get("packages", {}), "package.environment.packages"
        ),
    }
    checked["hyperparameters"] = dict(
        check_object(package.get("hyperparameters"), "hyperparameters")
    )
    checked["metrics"] = {
        check_text(name, "metric name", limit=100): check_decimal(value, f"metric {name!r}")
        for name, value in check_object(package.get("metrics"), "package.metrics").items()
    }
    schema = check_object(package.get("schema"), "package.schema")
    checked["schema"] = {
        "inputs": check_list(schema.get("inputs", []), "package.schema.inputs"),
        "outputs": check_list(schema.get("outputs", []), "package.schema.outputs"),
    }
    run = check_object(package.get("training_run"), "package.training_run")
    checked["training_run"] = {
        "id": check_text(run.get("id", ""), "package.training_run.id", required=False),
        "authors": check_actors(run.get("authors", []), "package.training_run.authors"),
    }
    checked["data"] = [_snapshot_ref(item) for item in check_list(package.get("data", []), "data")]
    return checked


def package_authors(package: Mapping[str, Any]) -> set[str]:
    """Everyone who authored the training run or the code commit (actor ids)."""
    return set(package["code"]["authors"]) | set(package["training_run"]["authors"])


def _snapshot_ref(item: object) -> dict[str, str]:
    ref = check_object(item, "package.data[]", required=True)
    return {
        "snapshot": check_text(ref.get("snapshot"), "package.data[].snapshot", limit=200),
        "digest": check_digest(ref.get("digest"), "package.data[].digest"),
    }


# --- Signatures --------------------------------------------------------------------------------


def signed_content(*, record: str, facts: str, decision: Mapping[str, Any]) -> dict[str, Any]:
    """What a signer signs: the record, the digest of its facts, and the decision.

    Its SHA-256 binds the signature to this record and these facts (21 CFR 11.70): copied
    onto another record, or left on a record whose facts were corrected, it no longer
    matches.
    """
    return {"record": record, "facts": facts, "decision": dict(decision)}


def binding_holds(
    *, content: Mapping[str, Any], content_sha256: str, record: str, facts: str
) -> bool:
    return (
        content.get("record") == record
        and content.get("facts") == facts
        and sha256_of(dict(content)) == content_sha256
    )


# --- Policies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    role: Role
    meaning: Meaning
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role.value, "meaning": self.meaning.value, "count": self.count}


# What a policy requirement may ask: a signature of these meanings, in these roles (auditors
# and administrators decide nothing).
REQUIRED_MEANINGS = (Meaning.VALIDATED, Meaning.APPROVED)
SIGNING_ROLES = (Role.DEVELOPER, Role.VALIDATOR, Role.APPROVER, Role.MODEL_RISK_COMMITTEE)


def stored_requirements(items: Iterable[Mapping[str, Any]]) -> list[Requirement]:
    """A policy's requirements as stored (checked by `check_requirements` when set)."""
    return [Requirement(Role(i["role"]), Meaning(i["meaning"]), i["count"]) for i in items]


def check_requirements(items: object, what: str) -> list[Requirement]:
    if not isinstance(items, list) or not items:
        raise DomainError(f"{what} must list at least one required signature")
    requirements = []
    for item in items:
        entry = check_object(item, what, required=True)
        count = entry.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
            raise DomainError(f"{what}: count must be a whole number from 1 to 10")
        role = check_choice(entry.get("role"), Role, f"{what}: role")
        if role not in SIGNING_ROLES:
            raise DomainError(f"{what}: the {role.label} role does not sign decisions")
        meaning = check_choice(entry.get("meaning"), Meaning, f"{what}: meaning")
        if meaning not in REQUIRED_MEANINGS:
            raise DomainError(f"{what}: a requirement is for 'validated' or 'approved'")
        requirements.append(Requirement(role, meaning, count))
    return requirements
