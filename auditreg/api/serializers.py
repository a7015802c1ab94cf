"""Request bodies (checked for shape here, for meaning by the services) and answers."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from auditreg.accounts.domain import Role
from auditreg.registry.domain import Meaning, RiskTier
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    MonitoringRecord,
    RegisteredModel,
    Signature,
    UseCase,
)
from lineage.models import Event, Node

# `sha256:` and 64 lower-case hex digits (the field trims white space before matching).
CONTENT_SHA256 = r"^sha256:[0-9a-f]{64}$"


class Strict(serializers.Serializer[Any]):
    """Refuses fields it does not know: a misspelt field is an error, not silently lost."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["this field is not part of the request"] for name in unknown}
                )
        return super().to_internal_value(data)


def query(*names: str) -> list[OpenApiParameter]:
    """Optional text filters in the query string, for the schema."""
    return [OpenApiParameter(name, str) for name in names]


# --- Requests ----------------------------------------------------------------------------------


class ModelIn(Strict):
    slug = serializers.CharField(max_length=63)
    name = serializers.CharField(max_length=200)
    owner = serializers.CharField(max_length=200)
    domain = serializers.CharField(max_length=100)
    risk_tier = serializers.ChoiceField(choices=[tier.value for tier in RiskTier])
    intended_purpose = serializers.CharField(max_length=2000)
    limitations = serializers.CharField(max_length=2000)
    description = serializers.CharField(max_length=2000, required=False, default="")


class ModelChanges(Strict):
    """The inventory facts a correction supersedes: only those given change."""

    name = serializers.CharField(max_length=200, required=False)
    owner = serializers.CharField(max_length=200, required=False)
    domain = serializers.CharField(max_length=100, required=False)
    risk_tier = serializers.ChoiceField(choices=[tier.value for tier in RiskTier], required=False)
    intended_purpose = serializers.CharField(max_length=2000, required=False)
    limitations = serializers.CharField(max_length=2000, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ModelCorrectionIn(Strict):
    changes = ModelChanges()
    reason = serializers.CharField(max_length=2000)


class VersionIn(Strict):
    package = serializers.DictField(help_text="the model package (see the README)")


class VersionCorrectionIn(Strict):
    package = serializers.DictField(help_text="the corrected model package, same artifact")
    reason = serializers.CharField(max_length=2000)


class MonitoringIn(Strict):
    metric = serializers.CharField(max_length=100)
    value = serializers.CharField(max_length=40, help_text='a decimal string, such as "0.84"')
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    segment = serializers.CharField(max_length=100, required=False, default="all")


class SignIn(Strict):
    meaning = serializers.ChoiceField(choices=[meaning.value for meaning in Meaning])
    role = serializers.ChoiceField(choices=[role.value for role in Role])
    password = serializers.CharField(max_length=200, trim_whitespace=False)
    comment = serializers.CharField(max_length=2000, required=False, default="")
    content_sha256 = serializers.RegexField(
        CONTENT_SHA256,
        max_length=71,
        help_text="the SHA-256 of the content you were shown and sign, as "
        "`GET …/content-to-sign` gives it",
    )


class ToSign(Strict):
    """The query of `content-to-sign`: which decision, in which role."""

    meaning = serializers.ChoiceField(choices=[meaning.value for meaning in Meaning])
    role = serializers.ChoiceField(choices=[role.value for role in Role])


class DatasetIn(Strict):
    name = serializers.CharField(max_length=300)
    uri = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)
    description = serializers.CharField(
        max_length=2000, required=False, default="", allow_blank=True
    )


class SnapshotIn(Strict):
    dataset = serializers.CharField(max_length=300)
    label = serializers.CharField(max_length=100)  # type: ignore[assignment]
    digest = serializers.CharField(max_length=71, help_text="sha256: and 64 hex digits")
    uri = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)
    rows = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    schema = serializers.DictField(required=False, allow_null=True, default=None)
    time_range = serializers.DictField(required=False, allow_null=True, default=None)


class RunIn(Strict):
    """One report of a training run; the services check every field's meaning."""

    id = serializers.CharField(max_length=200)
    job = serializers.CharField(max_length=300, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=["started", "running", "completed", "failed", "aborted"]
    )
    started_at = serializers.CharField(max_length=40, required=False, allow_null=True)
    ended_at = serializers.CharField(max_length=40, required=False, allow_null=True)
    parameters = serializers.DictField(required=False)
    metrics = serializers.DictField(child=serializers.CharField(), required=False)
    inputs = serializers.ListField(child=serializers.CharField(max_length=500), required=False)
    outputs = serializers.ListField(child=serializers.CharField(max_length=500), required=False)
    code = serializers.DictField(required=False, allow_null=True)
    environment = serializers.DictField(required=False, allow_null=True)
    artifacts = serializers.ListField(child=serializers.DictField(), required=False)
    authors = serializers.ListField(child=serializers.CharField(max_length=200), required=False)


# --- Answers -----------------------------------------------------------------------------------


class ModelOut(serializers.ModelSerializer[RegisteredModel]):
    subject = serializers.CharField(read_only=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "slug",
            "subject",
            "name",
            "owner",
            "domain",
            "risk_tier",
            "intended_purpose",
            "limitations",
            "description",
            "registered_by",
            "registered_at",
            "registered_seq",
        ]


class VersionOut(serializers.ModelSerializer[ModelVersion]):
    model = serializers.CharField(source="model_id")

    class Meta:
        model = ModelVersion
        fields = [
            "subject",
            "model",
            "number",
            "stage",
            "review_required",
            "package_digest",
            "artifact_digest",
            "registered_by",
            "registered_at",
            "registered_seq",
            "package",
        ]


class MonitoringOut(serializers.ModelSerializer[MonitoringRecord]):
    version = serializers.CharField(source="version_id")

    class Meta:
        model = MonitoringRecord
        fields = [
            "seq",
            "version",
            "metric",
            "segment",
            "value",
            "window_start",
            "window_end",
            "breach",
            "threshold",
            "recorded_by",
            "recorded_at",
        ]


class SignatureOut(serializers.ModelSerializer[Signature]):
    class Meta:
        model = Signature
        fields = [
            "seq",
            "subject",
            "signer",
            "printed_name",
            "role",
            "meaning",
            "comment",
            "signed_at",
            "time_zone",
        ]


class UseCaseOut(serializers.ModelSerializer[UseCase]):
    model = serializers.CharField(source="model_id")

    class Meta:
        model = UseCase
        fields = ["slug", "title", "description", "population", "model", "created_at"]


class AuthorizationOut(serializers.ModelSerializer[Authorization]):
    use_case = serializers.CharField(source="use_case_id")
    version = serializers.CharField(source="version_id")
    fallback = serializers.CharField(source="fallback_id", allow_null=True)

    class Meta:
        model = Authorization
        fields = [
            "subject",
            "use_case",
            "number",
            "version",
            "fallback",
            "conditions",
            "effective_on",
            "expires_on",
            "status",
            "proposed_by",
            "proposed_at",
            "activated_at",
            "revoked_at",
            "revocation_reason",
        ]


class NodeOut(serializers.ModelSerializer[Node]):
    class Meta:
        model = Node
        fields = ["subject", "kind", "name", "digest", "facts", "recorded_seq", "updated_seq"]


class EventOut(serializers.ModelSerializer[Event]):
    class Meta:
        model = Event
        fields = ["digest", "event_type", "event_time", "run", "job", "seq"]


class ContentToSignOut(serializers.Serializer[Any]):
    meaning = serializers.CharField()
    role = serializers.CharField()
    content = serializers.DictField(help_text="what the signature binds, as the signer reads it")
    content_sha256 = serializers.CharField(help_text="send it back with the signature")


class CheckpointOut(serializers.Serializer[Any]):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="hex")
    key_name = serializers.CharField()
    note = serializers.CharField(help_text="the C2SP signed note")


class InclusionProofOut(serializers.Serializer[Any]):
    seq = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="hex")
    root_hash = serializers.CharField(help_text="hex")
    proof = serializers.ListField(child=serializers.CharField(), help_text="hex node hashes")


class ConsistencyProofOut(serializers.Serializer[Any]):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root = serializers.CharField(help_text="hex")
    second_root = serializers.CharField(help_text="hex")
    proof = serializers.ListField(child=serializers.CharField(), help_text="hex node hashes")
