"""The registry in the Django admin, read-only: its tables are projections of the ledger and
change only through the services."""

from django.contrib import admin

from auditreg.ledger.admin import ReadOnlyAdmin
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    MonitoringRecord,
    Policy,
    RegisteredModel,
    Signature,
    SigningFailure,
    UseCase,
)


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "domain", "risk_tier", "owner"]
    list_filter = ["risk_tier", "domain"]
    search_fields = ["slug", "name", "owner"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["subject", "stage", "review_required", "registered_at"]
    list_filter = ["stage", "review_required"]
    search_fields = ["subject", "artifact_digest", "package_digest"]


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ["seq", "subject", "printed_name", "meaning", "role", "signed_at"]
    list_filter = ["meaning", "role", "binding_valid"]
    search_fields = ["subject", "username"]


@admin.register(SigningFailure)
class SigningFailureAdmin(ReadOnlyAdmin):
    list_display = ["seq", "subject", "signer", "meaning", "attempted_at"]


@admin.register(UseCase)
class UseCaseAdmin(ReadOnlyAdmin):
    list_display = ["slug", "title", "model"]


@admin.register(Authorization)
class AuthorizationAdmin(ReadOnlyAdmin):
    list_display = ["subject", "version", "status", "effective_on", "expires_on", "fallback"]
    list_filter = ["status"]


@admin.register(MonitoringRecord)
class MonitoringRecordAdmin(ReadOnlyAdmin):
    list_display = ["seq", "version", "metric", "segment", "value", "breach", "window_end"]
    list_filter = ["breach"]


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ["risk_tier", "review_months", "set_by", "set_at"]
