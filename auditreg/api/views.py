"""The REST API, under /api/v1/. Reads are plain views; every write is one service call."""

from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auditreg.api.auth import HasScope
from auditreg.ledger import services as ledger


class LatestCheckpoint(APIView):
    """The latest signed checkpoint (C2SP signed note) with its size and root."""

    permission_classes = [HasScope("read")]

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
