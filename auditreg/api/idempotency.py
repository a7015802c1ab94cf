"""`Idempotency-Key` on writes: a repeat with the same key and body returns the first
answer and records nothing; the same key with another request is a 409 conflict.

Concurrent requests with one key are serialized: on PostgreSQL by an advisory lock on the
(principal, key) pair, held across the service's own transaction; on SQLite, where writes
are serialized anyway, the unique constraint catches the second and its first answer is
returned. Only successful answers are kept: a refused request changed nothing, so sending
it again is safe and is checked again.
"""

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import rfc8785
from django.db import IntegrityError, connection, transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auditreg.api.auth import acting_principal
from auditreg.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x21-\x7e]{1,200}")
KEY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="a repeat with this key and body returns the first answer and records nothing",
    pattern=r"^[\x21-\x7e]{1,200}$",
)


class KeyReused(APIException):
    status_code = 409
    default_detail = "this Idempotency-Key was used for another request"


Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Wrap an APIView's `post` (and declare the header in the OpenAPI schema)."""

    @wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not KEY.fullmatch(key):
            raise ValidationError(f"{HEADER} must be 1 to 200 visible ASCII characters")
        principal = acting_principal(request).actor_id
        digest = request_digest(request)
        with _serialized(principal, key):
            stored = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
            if stored is not None:
                return _replay(stored, digest)
            response = handler(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                return response
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        principal=principal,
                        key=key,
                        request_digest=digest,
                        status=response.status_code,
                        response=response.data,
                    )
            except IntegrityError:  # SQLite: a concurrent request with this key won
                stored = IdempotencyRecord.objects.get(principal=principal, key=key)
                return _replay(stored, digest)
            return response

    return extend_schema(parameters=[KEY_PARAMETER])(wrapper)


def request_digest(request: Request) -> str:
    """What makes two requests the same: method, path and body (as canonical JSON, so
    white space and key order do not matter)."""
    try:
        body = rfc8785.dumps({"method": request.method, "path": request.path, "body": request.data})
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValidationError(f"the body has no canonical JSON form: {exc}") from None
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _replay(stored: IdempotencyRecord, digest: str) -> Response:
    if stored.request_digest != digest:
        raise KeyReused(
            f"the {HEADER} {stored.key!r} was used for another request; "
            "use a new key for a new request"
        )
    return Response(stored.response, status=stored.status, headers={"Idempotent-Replayed": "true"})


@contextmanager
def _serialized(principal: str, key: str) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    lock = int.from_bytes(
        hashlib.sha256(f"{principal}\n{key}".encode()).digest()[:8], "big", signed=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])
