"""Datasets, snapshots, runs, OpenLineage events, and the lineage questions."""

import gzip
import io
import zlib
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auditreg.api import serializers as s
from auditreg.api.auth import Ingest, Readable, acting_principal
from auditreg.api.idempotency import idempotent
from auditreg.api.limits import BodyTooLarge, BoundedJSONParser
from auditreg.api.pagination import Pages
from auditreg.registry import impact
from lineage import queries, services
from lineage.models import Node


def _created(node: Node, created: bool) -> Response:
    answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return Response(s.NodeOut(node).data, status=answer)


class DatasetCreate(APIView):
    """Record a dataset (`dataset:{name}`)."""

    permission_classes = [Ingest]

    @extend_schema(request=s.DatasetIn, responses={201: s.NodeOut, 200: s.NodeOut})
    @idempotent
    def post(self, request: Request) -> Response:
        body = s.DatasetIn(data=request.data)
        body.is_valid(raise_exception=True)
        return _created(
            *services.record_dataset(**body.validated_data, by=acting_principal(request))
        )


class SnapshotCreate(APIView):
    """Record a snapshot of a recorded dataset (`dataset:{name}@{label}`), pinned by the
    SHA-256 of its content."""

    permission_classes = [Ingest]

    @extend_schema(request=s.SnapshotIn, responses={201: s.NodeOut, 200: s.NodeOut})
    @idempotent
    def post(self, request: Request) -> Response:
        body = s.SnapshotIn(data=request.data)
        body.is_valid(raise_exception=True)
        by = acting_principal(request)
        return _created(*services.record_snapshot(**body.validated_data, by=by))


class RunCreate(APIView):
    """Report a training run (`run:{id}`). Reports of one run merge; a report that adds
    nothing answers 200 and records nothing."""

    permission_classes = [Ingest]

    @extend_schema(request=s.RunIn, responses={201: s.NodeOut, 200: s.NodeOut})
    @idempotent
    def post(self, request: Request) -> Response:
        s.RunIn(data=request.data).is_valid(raise_exception=True)
        # The services read the report as sent: the serializer checks its shape only.
        return _created(*services.record_run(facts=request.data, by=acting_principal(request)))


class OpenLineageParser(BoundedJSONParser):
    """JSON, plain or compressed with gzip (`Content-Encoding: gzip`, as the
    openlineage-python HTTP transport sends it). The decompressed size is bounded."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "") if request else ""
        if encoding.lower() != "gzip":
            return super().parse(stream, media_type, parser_context)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            with gzip.GzipFile(fileobj=stream) as unzipped:
                body = unzipped.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"the gzip body cannot be decompressed: {exc}") from None
        if len(body) > limit:
            raise BodyTooLarge(f"the decompressed body is larger than {limit} bytes")
        return super().parse(io.BytesIO(body), media_type, parser_context)


class OpenLineageEndpoint(APIView):
    """Receive an OpenLineage RunEvent, JobEvent or DatasetEvent. The event is kept whole
    in the ledger with its digest; the same event again answers 200 and records nothing."""

    permission_classes = [Ingest]
    parser_classes = [OpenLineageParser]

    @extend_schema(request=dict[str, Any], responses={201: s.EventOut, 200: s.EventOut})
    @idempotent
    def post(self, request: Request) -> Response:
        event, created = services.record_openlineage_event(
            event=request.data, by=acting_principal(request)
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.EventOut(event).data, status=answer)


@extend_schema(parameters=s.query("kind", "q"))
class NodeList(generics.ListAPIView[Node]):
    """Lineage nodes, filtered by `kind` and `q` (in the subject)."""

    permission_classes = [Readable]
    serializer_class = s.NodeOut
    pagination_class = type("ByRecording", (Pages,), {"ordering": "recorded_seq"})

    def get_queryset(self) -> QuerySet[Node]:
        nodes = Node.objects.all()
        if self.request.query_params.get("kind"):
            nodes = nodes.filter(kind=self.request.query_params["kind"])
        if self.request.query_params.get("q"):
            nodes = nodes.filter(subject__icontains=self.request.query_params["q"])
        return nodes


class NodeDetail(APIView):
    permission_classes = [Readable]

    @extend_schema(responses=s.NodeOut)
    def get(self, request: Request, subject: str) -> Response:
        return Response(s.NodeOut(get_object_or_404(Node, subject=subject)).data)


def _subject(request: Request, name: str = "subject") -> str:
    value = request.query_params.get(name)
    if not value:
        raise ValidationError(f"the query parameter '{name}' is required")
    return value


SUBJECT = OpenApiParameter("subject", str, required=True, description="a lineage subject")


class Upstream(APIView):
    """Everything `subject` came from, down to the raw datasets, with each node's distance."""

    permission_classes = [Readable]

    @extend_schema(parameters=[SUBJECT], responses=dict[str, Any])
    def get(self, request: Request) -> Response:
        return Response(queries.upstream(_subject(request)).as_json())


class Downstream(APIView):
    """Everything built from `subject`, and the model versions among them with their stage
    and the use cases they are authorized for."""

    permission_classes = [Readable]

    @extend_schema(parameters=[SUBJECT], responses=dict[str, Any])
    def get(self, request: Request) -> Response:
        return Response(impact.downstream(_subject(request)).as_json())


class Diff(APIView):
    """What changed from version `from` to version `to`: data, code, environment,
    parameters, metrics."""

    permission_classes = [Readable]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True),
            OpenApiParameter("to", str, required=True),
        ],
        responses=dict[str, Any],
    )
    def get(self, request: Request) -> Response:
        return Response(impact.diff(_subject(request, "from"), _subject(request, "to")))
