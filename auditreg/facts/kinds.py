"""Every kind of fact the services record, in one list. The write path refuses any other
kind, so a fact that no projection knows can never be appended and silently ignored."""

from enum import StrEnum


class Kind(StrEnum):
    # People, machines and their credentials
    PRINCIPAL_ENROLLED = "principal.enrolled"
    PRINCIPAL_DEACTIVATED = "principal.deactivated"
    PRINCIPAL_REACTIVATED = "principal.reactivated"
    PRINCIPAL_PASSWORD_SET = "principal.password_set"  # noqa: S105 - a kind, not a secret
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    TOKEN_ISSUED = "token.issued"  # noqa: S105 - a kind, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - a kind, not a secret
    # Governance
    POLICY_SET = "policy.set"
    MODEL_REGISTERED = "model.registered"
    MODEL_CORRECTED = "model.corrected"
    VERSION_REGISTERED = "version.registered"
    VERSION_CORRECTED = "version.corrected"
    STAGE_CHANGED = "stage.changed"
    SIGNATURE_SIGNED = "signature.signed"
    SIGNATURE_FAILED = "signature.failed"
    CHANGES_REQUESTED = "changes.requested"
    USECASE_CREATED = "usecase.created"
    USECASE_ROLLED_BACK = "usecase.rolled_back"
    AUTHORIZATION_PROPOSED = "authorization.proposed"
    AUTHORIZATION_ACTIVATED = "authorization.activated"
    AUTHORIZATION_REJECTED = "authorization.rejected"
    AUTHORIZATION_REVOKED = "authorization.revoked"
    THRESHOLD_SET = "threshold.set"
    MONITORING_RECORDED = "monitoring.recorded"
    REVIEW_CLEARED = "review.cleared"
    # Lineage
    DATASET_RECORDED = "dataset.recorded"
    SNAPSHOT_RECORDED = "snapshot.recorded"
    RUN_RECORDED = "run.recorded"
    OPENLINEAGE_EVENT = "openlineage.event"
    # Reports
    REPORT_REQUESTED = "report.requested"
    REPORT_ISSUED = "report.issued"
