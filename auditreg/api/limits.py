"""The API's limits: how many requests a principal may send, and how large a body may be."""

import io
import math
from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from auditreg.accounts.models import ApiToken

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
    """JSON, read no further than DATA_UPLOAD_MAX_MEMORY_SIZE, holding only what the ledger
    can store (see `refuse_unstorable`)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = io.BytesIO(read_bounded(stream))
        try:
            data = super().parse(body, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error: the body is nested too deeply") from None
        refuse_unstorable(data)
        return data


# The largest integer an IEEE 754 double holds exactly: RFC 8785 (the ledger's canonical JSON)
# writes numbers as doubles, so it refuses any integer beyond it.
SAFE_INTEGER = 2**53 - 1


def refuse_unstorable(data: Any) -> None:
    """Refuse, on every database, what the ledger cannot store: a NUL character (PostgreSQL
    keeps none in text or JSON), a lone UTF-16 surrogate such as "\\udc00" (not a character:
    no UTF-8 form), and a number with no RFC 8785 form (1e400 is infinite as a double; an
    integer beyond 2^53 - 1 is not exact). Refused here, before any view reads the body, rather
    than when the ledger entry is written."""
    pending = [data]
    while pending:  # not recursive: the JSON may be nested as deep as the parser allows
        item = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ParseError(
                "the body contains a number too large for JSON's canonical form (such as "
                "1e400, which is infinite as a double); send it as a string"
            )
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > SAFE_INTEGER:
            raise ParseError(
                "the body contains an integer beyond 2^53 - 1, which JSON's canonical form "
                "(RFC 8785) cannot hold exactly; send it as a string"
            )
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ParseError("the body contains a NUL character (\\u0000), which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(
            "the body contains a lone UTF-16 surrogate (such as \\udc00), which is not a "
            "character and cannot be stored"
        ) from None


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
