"""The registry's tables: projections of the ledger.

Rows are written only by `auditreg.registry.projection` (through the services, in the same
transaction as the ledger entry they derive from) and can be rebuilt from the ledger by
`replay_ledger`. Foreign keys point at natural keys (slugs, subjects), so a row's content
never depends on the order in which a database handed out ids.
"""

from datetime import datetime

from django.db import models

from auditreg.accounts.domain import Role
from auditreg.registry.domain import AuthorizationStatus, Meaning, RiskTier, Stage


def _choices(
    enum: type[Role] | type[RiskTier] | type[Stage] | type[Meaning],
) -> list[tuple[str, str]]:
    """Each stored value with its label: a role in words (`Role.label`), the others as stored."""
    return [(m.value, m.label if isinstance(m, Role) else m.value) for m in enum]


class Policy(models.Model):
    """Which signatures a risk tier's approvals and authorizations need, and how long an
    authorization lasts before re-review."""

    risk_tier = models.CharField(max_length=16, choices=_choices(RiskTier), unique=True)
    approval = models.JSONField()
    authorization = models.JSONField()
    review_months = models.PositiveIntegerField()
    set_by = models.CharField(max_length=200)
    set_at = models.DateTimeField()
    set_seq = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"policy for {self.risk_tier} risk tier"


class RegisteredModel(models.Model):
    slug = models.CharField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    owner = models.CharField(max_length=200)
    description = models.TextField()
    intended_purpose = models.TextField()
    limitations = models.TextField()
    domain = models.CharField(max_length=100)
    risk_tier = models.CharField(max_length=16, choices=_choices(RiskTier))
    registered_by = models.CharField(max_length=200)
    registered_at = models.DateTimeField()
    registered_seq = models.BigIntegerField()
    updated_seq = models.BigIntegerField()

    def __str__(self) -> str:
        return self.slug

    @property
    def subject(self) -> str:
        return f"model:{self.slug}"


class VersionQuerySet(models.QuerySet["ModelVersion"]):
    def in_production(self) -> "VersionQuerySet":
        """The versions in production (at most one per model)."""
        return self.filter(stage=Stage.PRODUCTION)


class ModelVersion(models.Model):
    """An immutable model package; corrections supersede it through the ledger."""

    subject = models.CharField(max_length=200, unique=True)
    model = models.ForeignKey(
        RegisteredModel,
        on_delete=models.PROTECT,
        to_field="slug",
        db_column="model",
        related_name="versions",
    )
    number = models.PositiveIntegerField()
    package = models.JSONField()
    package_digest = models.CharField(max_length=71)
    artifact_digest = models.CharField(max_length=71)
    stage = models.CharField(max_length=16, choices=_choices(Stage))
    stage_seq = models.BigIntegerField()
    review_required = models.BooleanField()
    review_seq = models.BigIntegerField(null=True)
    registered_by = models.CharField(max_length=200)
    registered_at = models.DateTimeField()
    registered_seq = models.BigIntegerField()
    updated_seq = models.BigIntegerField()

    objects = VersionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="one_number_per_model")
        ]
        indexes = [
            models.Index(fields=["model", "package_digest"], name="version_package"),
            # The dashboard's queues and counts by stage, and the reviews due.
            models.Index(fields=["stage", "stage_seq"], name="version_stage"),
            models.Index(
                fields=["review_seq"],
                name="version_review_due",
                condition=models.Q(review_required=True),
            ),
        ]

    def __str__(self) -> str:
        flag = " (review required)" if self.review_required else ""
        return f"{self.subject} [{self.stage}]{flag}"


class StagePeriod(models.Model):
    """A version's stage from one stage change to the next: the point-in-time record."""

    seq = models.BigIntegerField(unique=True)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, to_field="subject", db_column="version"
    )
    stage = models.CharField(max_length=16, choices=_choices(Stage))
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    changed_by = models.CharField(max_length=200)
    reason = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["stage", "started_at"], name="stage_period_time")]

    def __str__(self) -> str:
        return f"{self.version_id} {self.stage} from {self.started_at:%Y-%m-%d %H:%M}"


class UseCase(models.Model):
    slug = models.CharField(max_length=63, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    population = models.TextField()
    model = models.ForeignKey(
        RegisteredModel,
        on_delete=models.PROTECT,
        to_field="slug",
        db_column="model",
        related_name="use_cases",
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    created_seq = models.BigIntegerField()

    def __str__(self) -> str:
        return self.title

    @property
    def subject(self) -> str:
        return f"usecase:{self.slug}"


class AuthorizationQuerySet(models.QuerySet["Authorization"]):
    def in_force(self, moment: datetime) -> "AuthorizationQuerySet":
        """In force at `moment`: activated by then, effective, not expired, not yet revoked.

        The one definition, for now and for any past moment (`Authorization.in_force` says the
        same of one row). Only an active authorization, or one revoked since, was ever
        activated: naming both statuses lets the (status, expires_at) index serve the query.
        """
        return self.filter(
            status__in=[AuthorizationStatus.ACTIVE, AuthorizationStatus.REVOKED],
            activated_at__lte=moment,
            effective_from__lte=moment,
            expires_at__gt=moment,
        ).filter(models.Q(revoked_at__isnull=True) | models.Q(revoked_at__gt=moment))


class Authorization(models.Model):
    """A version authorized for a use case, with conditions, validity and a fallback."""

    subject = models.CharField(max_length=200, unique=True)
    use_case = models.ForeignKey(
        UseCase,
        on_delete=models.PROTECT,
        to_field="slug",
        db_column="use_case",
        related_name="authorizations",
    )
    number = models.PositiveIntegerField()
    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="subject",
        db_column="version",
        related_name="authorizations",
    )
    fallback = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="subject",
        db_column="fallback",
        related_name="+",
        null=True,
    )
    conditions = models.JSONField()
    effective_on = models.DateField()
    expires_on = models.DateField()
    # The same dates as instants in the organisation's time zone (start of the effective
    # day, end of the expiry day), as recorded in the ledger.
    effective_from = models.DateTimeField()
    expires_at = models.DateTimeField()
    facts_digest = models.CharField(max_length=71)
    status = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in AuthorizationStatus]
    )
    proposed_by = models.CharField(max_length=200)
    proposed_at = models.DateTimeField()
    proposed_seq = models.BigIntegerField()
    activated_at = models.DateTimeField(null=True)
    rejected_at = models.DateTimeField(null=True)
    revoked_at = models.DateTimeField(null=True)
    revoked_by = models.CharField(max_length=200)
    revocation_reason = models.TextField()
    updated_seq = models.BigIntegerField()

    objects = AuthorizationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["use_case", "number"], name="one_number_per_use")
        ]
        indexes = [
            # The dashboard's proposals waiting, and authorizations expiring soon.
            models.Index(fields=["status", "proposed_seq"], name="authorization_waiting"),
            models.Index(fields=["status", "expires_at"], name="authorization_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} for {self.use_case_id} ({self.status})"

    def in_force(self, moment: datetime) -> bool:
        """In force at `moment`, as `Authorization.objects.in_force(moment)` decides."""
        return (
            self.status in (AuthorizationStatus.ACTIVE, AuthorizationStatus.REVOKED)
            and self.activated_at is not None
            and self.activated_at <= moment
            and self.effective_from <= moment < self.expires_at
            and (self.revoked_at is None or moment < self.revoked_at)
        )


class Signature(models.Model):
    """An electronic signature (21 CFR 11.50, 11.70): who, when, meaning, bound to content."""

    seq = models.BigIntegerField(unique=True)
    subject = models.CharField(max_length=200)
    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="subject",
        db_column="version",
        null=True,
        related_name="signatures",
    )
    authorization = models.ForeignKey(
        Authorization,
        on_delete=models.PROTECT,
        to_field="subject",
        db_column="authorization",
        null=True,
        related_name="signatures",
    )
    signer = models.CharField(max_length=200)
    username = models.CharField(max_length=150)
    printed_name = models.CharField(max_length=200)
    role = models.CharField(max_length=32, choices=_choices(Role))
    meaning = models.CharField(max_length=16, choices=_choices(Meaning))
    comment = models.TextField()
    signed_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=71)
    # False when the content signed is not this record's: recorded, but it counts for nothing.
    binding_valid = models.BooleanField()

    class Meta:
        indexes = [models.Index(fields=["subject", "seq"], name="signature_subject")]

    def __str__(self) -> str:
        return f"{self.printed_name}: {self.meaning} {self.subject}"


class SigningFailure(models.Model):
    """A refused signing attempt (wrong password, inactive account, a rule broken)."""

    seq = models.BigIntegerField(unique=True)
    subject = models.CharField(max_length=200)
    signer = models.CharField(max_length=200)
    meaning = models.CharField(max_length=16)
    reason = models.TextField()
    attempted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.signer} failed to sign {self.subject}: {self.reason}"


class Threshold(models.Model):
    """The bounds a monitored metric must stay within; outside them, review is required."""

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, to_field="slug", db_column="model"
    )
    metric = models.CharField(max_length=100)
    segment = models.CharField(max_length=100)
    # NULL: no bound on that side (an empty string would not be a number either).
    lower = models.CharField(max_length=40, null=True)  # noqa: DJ001
    upper = models.CharField(max_length=40, null=True)  # noqa: DJ001
    set_by = models.CharField(max_length=200)
    set_seq = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "metric", "segment"], name="one_threshold_per_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_id} {self.metric} [{self.segment}] within {self.lower}..{self.upper}"


class MonitoringRecord(models.Model):
    seq = models.BigIntegerField(unique=True)
    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        to_field="subject",
        db_column="version",
        related_name="monitoring",
    )
    metric = models.CharField(max_length=100)
    value = models.CharField(max_length=40)
    segment = models.CharField(max_length=100)
    window_start = models.DateField()
    window_end = models.DateField()
    breach = models.BooleanField()
    threshold = models.JSONField(null=True)
    recorded_by = models.CharField(max_length=200)
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.version_id} {self.metric}={self.value} ({self.segment})"


class ReviewPeriod(models.Model):
    """From a monitoring breach until a validator signs the review."""

    seq = models.BigIntegerField(unique=True)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, to_field="subject", db_column="version"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    cleared_seq = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"review of {self.version_id} from {self.started_at:%Y-%m-%d}"


# The projection's table names (auditreg.registry.projection.KEYS) and their models.
TABLES: dict[str, type[models.Model]] = {
    "policy": Policy,
    "model": RegisteredModel,
    "version": ModelVersion,
    "stage_period": StagePeriod,
    "signature": Signature,
    "signing_failure": SigningFailure,
    "use_case": UseCase,
    "authorization": Authorization,
    "threshold": Threshold,
    "monitoring": MonitoringRecord,
    "review_period": ReviewPeriod,
}
