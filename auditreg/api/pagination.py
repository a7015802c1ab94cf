"""Cursor pages for every list: `limit` items (1 to 1000) from an opaque `cursor`.

Every list is ordered by a ledger seq, a whole number, so a cursor whose position is not one
is refused as a malformed cursor (400) instead of reaching the database."""

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from auditreg.proofs.checks import whole_number

MAX_PAGE = 1000


class Pages(CursorPagination):
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE
    invalid_cursor_message = (
        "the cursor is not one this API gave: follow the `next` and `previous` links as they are"
    )

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor: Cursor | None = super().decode_cursor(request)
        except (NotFound, ValueError, TypeError):  # DRF answers a bad cursor with 404
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None
        position = cursor.position if cursor is not None else None
        if position is not None and whole_number(str(position)) is None:
            raise ValidationError({"cursor": [self.invalid_cursor_message]})
        return cursor

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param or "limit")
        if raw is None:
            return self.page_size
        size = whole_number(raw)
        if size is None or not 1 <= size <= self.max_page_size:
            wanted = f"a whole number from 1 to {self.max_page_size}"
            raise ValidationError({"limit": [f"must be {wanted}, not {raw[:40]!r}"]})
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
        return parameters
