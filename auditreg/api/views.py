"""The REST API, under /api/v1/. Reads are plain views; every write is one service call."""

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auditreg.api import serializers as s
from auditreg.api.auth import Readable
from auditreg.api.pagination import Pages
from auditreg.ledger import services as ledger
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import whole_number


class LatestCheckpoint(APIView):
    """The latest signed checkpoint (C2SP signed note) with its size and root."""

    permission_classes = [Readable]

    @extend_schema(responses=s.CheckpointOut)
    def get(self, request: Request) -> Response:
        checkpoint = ledger.latest_checkpoint()
        if checkpoint is None:
            raise NotFound("no checkpoint has been signed yet")
        return Response(
            {
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hex,
                "key_name": checkpoint.key_name,
                "note": checkpoint.note,
            }
        )


class EntryPages(Pages):
    ordering = "seq"


class EntryOut(serializers.Serializer[Entry]):
    seq = serializers.IntegerField()
    time = serializers.DateTimeField(source="recorded_at")
    kind = serializers.CharField()
    subject = serializers.CharField()
    actor = serializers.CharField()
    hash = serializers.CharField(source="hash_hex")
    entry = serializers.SerializerMethodField(help_text="canonical JSON whose bytes are hashed")

    def get_entry(self, entry: Entry) -> str:
        return bytes(entry.body).decode()


@extend_schema(parameters=s.query("subject", "kind", "actor"))
class EntryList(generics.ListAPIView[Entry]):
    """Ledger entries in seq order, filtered by `subject`, `kind`, `actor`; cursor pages."""

    permission_classes = [Readable]
    serializer_class = EntryOut
    pagination_class = EntryPages

    def get_queryset(self) -> QuerySet[Entry]:
        entries = Entry.objects.all()
        for name in ("subject", "kind", "actor"):
            value = self.request.query_params.get(name)
            if value:
                entries = entries.filter(**{name: value})
        return entries


class EntryDetail(generics.RetrieveAPIView[Entry]):
    permission_classes = [Readable]
    serializer_class = EntryOut
    queryset = Entry.objects.all()
    lookup_field = "seq"


class InclusionProof(APIView):
    """RFC 9162 inclusion proof of entry `seq` in the tree of `tree_size` entries (default:
    the latest signed checkpoint's size)."""

    permission_classes = [Readable]

    @extend_schema(
        parameters=[
            OpenApiParameter("seq", int, required=True),
            OpenApiParameter("tree_size", int, description="default: the latest checkpoint's"),
        ],
        responses=s.InclusionProofOut,
    )
    def get(self, request: Request) -> Response:
        seq = _whole_number(request, "seq")
        size = _whole_number(request, "tree_size", default=_checkpointed_size)
        if not 0 <= seq < size:
            raise ValidationError(f"seq {seq} is not in a tree of {size} entries")
        proof = ledger.inclusion_proof(seq, size)
        leaf = Entry.objects.get(seq=seq)
        return Response(
            {
                "seq": seq,
                "tree_size": size,
                "leaf_hash": leaf.hash_hex,
                "root_hash": ledger.root_at(size).hex(),
                "proof": [node.hex() for node in proof],
            }
        )


class ConsistencyProof(APIView):
    """RFC 9162 consistency proof from the tree of `first` entries to that of `second`
    (default: the latest signed checkpoint's size)."""

    permission_classes = [Readable]

    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter("second", int, description="default: the latest checkpoint's"),
        ],
        responses=s.ConsistencyProofOut,
    )
    def get(self, request: Request) -> Response:
        first = _whole_number(request, "first")
        second = _whole_number(request, "second", default=_checkpointed_size)
        proof = ledger.consistency_proof(first, second)
        return Response(
            {
                "first": first,
                "second": second,
                "first_root": ledger.root_at(first).hex(),
                "second_root": ledger.root_at(second).hex(),
                "proof": [node.hex() for node in proof],
            }
        )


def _whole_number(request: Request, name: str, default: Callable[[], int] | None = None) -> int:
    """A whole-number query parameter; `default` is asked only when it is absent."""
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ValidationError(f"the query parameter '{name}' is required")
        return default()
    number = whole_number(raw)
    if number is None:
        raise ValidationError(f"'{name}' must be a whole number, not {raw[:40]!r}")
    return number


def _checkpointed_size() -> int:
    checkpoint = ledger.latest_checkpoint()
    if checkpoint is None:
        raise NotFound("no checkpoint has been signed yet; give tree_size explicitly")
    return checkpoint.tree_size
