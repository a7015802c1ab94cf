"""The OpenAPI schema's additions: our Bearer tokens, and the problem+json error answers every
operation may give (so clients and schema-driven tests know them)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from auditreg.api.errors import PROBLEM


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "auditreg.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ar_{prefix}_{secret}",
            "description": (
                "a service token with the scopes `read` (to read) and/or `ingest` (to write); "
                "a report request needs both"
            ),
        }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"description": "the refused fields, each with its reasons"},
    },
    "required": ["type", "title", "status", "detail"],
}

ERRORS = {
    "400": "The request is malformed: bad JSON, a missing or ill-typed field or parameter.",
    "401": "No credentials, or an invalid or inactive token (the answer does not say which).",
    "403": "The token lacks the scope, or the person an enrolment or a role.",
    "404": "Not found.",
    "422": "A rule refused the request; nothing was recorded.",
    "429": "Too many requests from this token or person; see Retry-After.",
}
WRITE_ERRORS = {
    "409": "The request contradicts a recorded fact, or reuses an Idempotency-Key.",
    "413": "The body (decompressed, if gzip) is larger than the server accepts.",
    "415": "The body is not JSON.",
}
HEADERS = {
    "401": {"WWW-Authenticate": "the Bearer challenge"},
    "429": {"Retry-After": "seconds to wait before trying again"},
}


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: every operation answers errors as
    problem+json, with the codes it can give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            errors = ERRORS | (WRITE_ERRORS if method == "post" else {})
            for code, description in sorted(errors.items()):
                operation["responses"].setdefault(code, _problem(code, description))
    return result


def _problem(code: str, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code in HEADERS:
        response["headers"] = {
            name: {"schema": {"type": "string"}, "description": text}
            for name, text in HEADERS[code].items()
        }
    return response
