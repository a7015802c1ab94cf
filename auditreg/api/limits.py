"""The API's limits: how many requests a principal may send, and how large a body may be."""

import io
from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from auditreg.registry.models import ApiToken

if TYPE_CHECKING:  # DRF imports this module while defining APIView
    from rest_framework.views import APIView


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = "the request body is too large"
    default_code = "body_too_large"


def body_too_large() -> str:
    return f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"


def read_bounded(stream: Any) -> bytes:
    """The body, or BodyTooLarge when it is over DATA_UPLOAD_MAX_MEMORY_SIZE.

    DRF 3.18 hands JSON parsers `request.body`, which Django checks against its limit (the
    exception handler answers that with 413 too); older DRF hands them the unchecked request
    stream, so the limit is enforced here as well."""
    body: bytes = stream.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise BodyTooLarge(body_too_large())
    return body


class BoundedJSONParser(JSONParser):
    """JSON, read no further than DATA_UPLOAD_MAX_MEMORY_SIZE, with no NUL character."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = io.BytesIO(read_bounded(stream))
        try:
            data = super().parse(body, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error: the body is nested too deeply") from None
        refuse_nul(data)
        return data


def refuse_nul(data: Any) -> None:
    """PostgreSQL stores no NUL character in text or JSON: refuse it here, on every database,
    rather than fail when it is written."""
    pending = [data]
    while pending:  # not recursive: the JSON may be nested as deep as the parser allows
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            raise ParseError("the body contains a NUL character (\\u0000), which cannot be stored")
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


class PerPrincipalRate(SimpleRateThrottle):
    """AUDITREG_API_RATE requests per API token, or per person signed in with a session.
    Anonymous requests are refused before they count (or, for the schema, not counted)."""

    scope = "api"

    def get_rate(self) -> str | None:
        # Read on every request (not once at import), so a changed setting applies at once.
        rate: str = settings.AUDITREG_API_RATE
        return rate or None

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.prefix}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
