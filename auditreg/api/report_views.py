"""Report requests through the API: ask for a report, watch its status, download it."""

from typing import Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auditreg.api.auth import Ingest, Readable, acting_principal
from auditreg.api.idempotency import idempotent
from auditreg.api.serializers import Strict
from reports import services
from reports.models import ReportKind, ReportRequest, ReportStatus


class ReportIn(Strict):
    kind = serializers.ChoiceField(choices=ReportKind.values)
    subject = serializers.CharField(max_length=500)
    use_case = serializers.CharField(max_length=63, required=False, allow_null=True)
    period_start = serializers.DateTimeField(required=False, allow_null=True)
    period_end = serializers.DateTimeField(required=False, allow_null=True)


class ReportOut(serializers.ModelSerializer[ReportRequest]):
    class Meta:
        model = ReportRequest
        fields = [
            "id",
            "kind",
            "subject",
            "use_case",
            "period_start",
            "period_end",
            "requested_by",
            "requested_at",
            "requested_seq",
            "status",
            "reason",
            "pdf_sha256",
            "checkpoint_size",
            "issued_seq",
        ]


class ReportCreate(APIView):
    """Request a signed report; a worker produces it. Anyone who may read the registry may
    ask (the request is a ledger entry naming them); a token needs the `ingest` scope too,
    since the request is a write and its rendering costs the server."""

    permission_classes = [Readable, Ingest]

    @extend_schema(request=ReportIn, responses={201: ReportOut})
    @idempotent
    def post(self, request: Request) -> Response:
        body = ReportIn(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        start, end = data.get("period_start"), data.get("period_end")
        report = services.request_report(
            kind=data["kind"],
            subject=data["subject"],
            use_case=data.get("use_case"),
            period=(start, end) if start and end else None,
            by=acting_principal(request),
        )
        return Response(ReportOut(report).data, status=status.HTTP_201_CREATED)


class ReportDetail(APIView):
    """A request's status: queued, rendering, signing, done, or failed with the reason."""

    permission_classes = [Readable]

    @extend_schema(responses=ReportOut)
    def get(self, request: Request, report_id: str) -> Response:
        return Response(ReportOut(get_object_or_404(ReportRequest, id=report_id)).data)


class ReportFile(APIView):
    """The signed PDF, once issued."""

    permission_classes = [Readable]

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(description="the signed report")}
    )
    def get(self, request: Request, report_id: str) -> FileResponse:
        report = get_object_or_404(ReportRequest, id=report_id)
        if report.status != ReportStatus.DONE:
            raise NotFound(f"report {report.id} is {report.status}, not issued yet")
        return FileResponse(
            services.storage().open(report.file_name, "rb"),
            as_attachment=True,
            filename=f"auditreg-{report.kind}-{report.id}.pdf",
            content_type="application/pdf",
        )
