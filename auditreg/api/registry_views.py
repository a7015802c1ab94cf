"""Models, versions, monitoring, signatures, use cases, authorizations and `as_of`.

Every write is one service call, wrapped for `Idempotency-Key`; the services check roles
and rules and raise DomainError (422) or Conflict (409), changing nothing.
"""

import dataclasses
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auditreg.api import serializers as s
from auditreg.api.auth import Ingest, Readable, TokenUser, acting_principal
from auditreg.api.idempotency import idempotent
from auditreg.api.pagination import Pages
from auditreg.proofs.checks import sha256_of
from auditreg.registry.models import Authorization, ModelVersion, RegisteredModel, UseCase
from auditreg.registry.queries import as_of
from auditreg.registry.services import monitoring, signatures, versions


class ByRegistration(Pages):
    ordering = "registered_seq"


def _filtered(queryset: QuerySet[Any], request: Request, *names: str) -> QuerySet[Any]:
    for name in names:
        value = request.query_params.get(name)
        if value:
            queryset = queryset.filter(**{name: value})
    return queryset


@extend_schema(methods=["GET"], parameters=s.query("risk_tier", "domain", "q"))
class ModelList(generics.ListAPIView[RegisteredModel]):
    """Models in the inventory, filtered by `risk_tier`, `domain`, or `q` (name or slug)."""

    serializer_class = s.ModelOut
    pagination_class = ByRegistration

    def get_permissions(self) -> list[Any]:
        return [Ingest()] if self.request.method == "POST" else [Readable()]

    def get_queryset(self) -> QuerySet[RegisteredModel]:
        models = _filtered(RegisteredModel.objects.all(), self.request, "risk_tier", "domain")
        query = self.request.query_params.get("q")
        if query:
            models = models.filter(name__icontains=query) | models.filter(slug__icontains=query)
        return models

    @extend_schema(request=s.ModelIn, responses={201: s.ModelOut, 200: s.ModelOut})
    @idempotent
    def post(self, request: Request) -> Response:
        body = s.ModelIn(data=request.data)
        body.is_valid(raise_exception=True)
        existed = RegisteredModel.objects.filter(slug=body.validated_data["slug"]).exists()
        model = versions.register_model(**body.validated_data, by=acting_principal(request))
        answer = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.ModelOut(model).data, status=answer)


class ModelDetail(generics.RetrieveAPIView[RegisteredModel]):
    permission_classes = [Readable]
    serializer_class = s.ModelOut
    queryset = RegisteredModel.objects.all()
    lookup_field = "slug"


class ModelCorrectionCreate(APIView):
    """Supersede some of a model's inventory facts, with a reason: a `model.corrected` entry.
    A developer or the model risk committee may; a new risk tier needs the committee."""

    permission_classes = [Ingest]

    @extend_schema(request=s.ModelCorrectionIn, responses={201: s.ModelOut})
    @idempotent
    def post(self, request: Request, slug: str) -> Response:
        body = s.ModelCorrectionIn(data=request.data)
        body.is_valid(raise_exception=True)
        model = versions.correct_model(
            model=get_object_or_404(RegisteredModel, slug=slug),
            changes=dict(body.validated_data["changes"]),
            reason=body.validated_data["reason"],
            by=acting_principal(request),
        )
        return Response(s.ModelOut(model).data, status=status.HTTP_201_CREATED)


@extend_schema(methods=["GET"], parameters=s.query("stage"))
class VersionList(generics.ListAPIView[ModelVersion]):
    """A model's versions, oldest first, filtered by `stage`. POST registers a version;
    the same package again answers 200 with the version already registered."""

    serializer_class = s.VersionOut
    pagination_class = ByRegistration

    def get_permissions(self) -> list[Any]:
        return [Ingest()] if self.request.method == "POST" else [Readable()]

    def get_queryset(self) -> QuerySet[ModelVersion]:
        model = get_object_or_404(RegisteredModel, slug=self.kwargs["slug"])
        return _filtered(model.versions.all(), self.request, "stage")

    @extend_schema(request=s.VersionIn, responses={201: s.VersionOut, 200: s.VersionOut})
    @idempotent
    def post(self, request: Request, slug: str) -> Response:
        body = s.VersionIn(data=request.data)
        body.is_valid(raise_exception=True)
        model = get_object_or_404(RegisteredModel, slug=slug)
        version, created = versions.register_version(
            model=model, package=body.validated_data["package"], by=acting_principal(request)
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.VersionOut(version).data, status=answer)


def _version(slug: str, number: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.select_related("model"), model=slug, number=number
    )


class VersionDetail(APIView):
    permission_classes = [Readable]

    @extend_schema(responses=s.VersionOut)
    def get(self, request: Request, slug: str, number: int) -> Response:
        return Response(s.VersionOut(_version(slug, number)).data)


class VersionCorrectionCreate(APIView):
    """Supersede a version's package facts (never its artifact) while it is in development or
    validation, with a reason: a `version.corrected` entry. A developer; signatures already
    given were bound to the old facts and stop counting, and a request for changes is closed."""

    permission_classes = [Ingest]

    @extend_schema(request=s.VersionCorrectionIn, responses={201: s.VersionOut})
    @idempotent
    def post(self, request: Request, slug: str, number: int) -> Response:
        body = s.VersionCorrectionIn(data=request.data)
        body.is_valid(raise_exception=True)
        version = versions.correct_version(
            version=_version(slug, number),
            package=body.validated_data["package"],
            reason=body.validated_data["reason"],
            by=acting_principal(request),
        )
        return Response(s.VersionOut(version).data, status=status.HTTP_201_CREATED)


class MonitoringCreate(APIView):
    """Record a performance figure of a version in use; a figure outside the model's
    threshold marks the version review-required."""

    permission_classes = [Ingest]

    @extend_schema(request=s.MonitoringIn, responses={201: s.MonitoringOut})
    @idempotent
    def post(self, request: Request, slug: str, number: int) -> Response:
        body = s.MonitoringIn(data=request.data)
        body.is_valid(raise_exception=True)
        record = monitoring.record_monitoring(
            version=_version(slug, number), **body.validated_data, by=acting_principal(request)
        )
        return Response(s.MonitoringOut(record).data, status=status.HTTP_201_CREATED)


class SignatureCreate(APIView):
    """Sign a decision on a version as a person, re-entering the password (21 CFR Part 11).
    API tokens cannot sign: a signature is a person's act."""

    permission_classes = [Readable]

    @extend_schema(request=s.SignIn, responses={201: s.SignatureOut})
    def post(self, request: Request, slug: str, number: int) -> Response:
        if isinstance(request.user, TokenUser):
            raise PermissionDenied(
                "API tokens cannot sign: an electronic signature needs a person who signs in "
                "and enters their password again"
            )
        body = s.SignIn(data=request.data)
        body.is_valid(raise_exception=True)
        signature = signatures.sign(
            record=_version(slug, number), **body.validated_data, by=acting_principal(request)
        )
        return Response(s.SignatureOut(signature).data, status=status.HTTP_201_CREATED)


class ContentToSign(APIView):
    """What a signature with `meaning` and `role` on this version binds, as it stands now, and
    its SHA-256. A signature sends that hash back as `content_sha256`, so the server knows the
    signer saw what they sign (the portal shows the same content on its sign page)."""

    permission_classes = [Readable]

    @extend_schema(parameters=[s.ToSign], responses=s.ContentToSignOut)
    def get(self, request: Request, slug: str, number: int) -> Response:
        query = s.ToSign(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        content = signatures.content_to_sign(record=_version(slug, number), **query.validated_data)
        return Response(
            {**query.validated_data, "content": content, "content_sha256": sha256_of(content)}
        )


class UseCaseList(generics.ListAPIView[UseCase]):
    permission_classes = [Readable]
    serializer_class = s.UseCaseOut
    pagination_class = type("ByCreation", (Pages,), {"ordering": "created_seq"})
    queryset = UseCase.objects.all()


@extend_schema(parameters=s.query("use_case", "status"))
class AuthorizationList(generics.ListAPIView[Authorization]):
    """Authorizations, filtered by `use_case` (slug) and `status`."""

    permission_classes = [Readable]
    serializer_class = s.AuthorizationOut
    pagination_class = type("ByProposal", (Pages,), {"ordering": "proposed_seq"})

    def get_queryset(self) -> QuerySet[Authorization]:
        return _filtered(Authorization.objects.all(), self.request, "use_case", "status")


class AsOf(APIView):
    """The registry as recorded at `at` (default: now): production, shadow and canary
    versions per model; authorizations in force per use case, with their signatures."""

    permission_classes = [Readable]

    @extend_schema(
        parameters=[
            OpenApiParameter("at", str, description="ISO 8601 time with offset"),
            OpenApiParameter("model", str),
            OpenApiParameter("use_case", str),
        ],
        responses=dict[str, Any],
    )
    def get(self, request: Request) -> Response:
        moment = timezone.now()
        raw = request.query_params.get("at")
        if raw:
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                raise ValidationError(f"'at' must be an ISO 8601 time, not {raw!r}") from None
            if moment.tzinfo is None:
                raise ValidationError("'at' must carry a UTC offset, such as 2026-03-31T23:59Z")
        model = use_case = None
        if request.query_params.get("model"):
            model = get_object_or_404(RegisteredModel, slug=request.query_params["model"])
        if request.query_params.get("use_case"):
            use_case = get_object_or_404(UseCase, slug=request.query_params["use_case"])
        answer = as_of(moment, by=acting_principal(request), model=model, use_case=use_case)
        return Response(_plain(dataclasses.asdict(answer)))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
