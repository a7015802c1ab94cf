"""Who is calling the API: service principals with Bearer tokens, people with sessions;
and the permission rules every view uses (`HasScope`, `Readable`)."""

import logging
from typing import TYPE_CHECKING

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from auditreg.accounts import services as accounts
from auditreg.accounts.models import ApiToken, Principal
from auditreg.errors import DomainError

if TYPE_CHECKING:  # DRF imports this module while loading its settings
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# One answer for an unknown, expired or revoked token and a deactivated service: telling them
# apart would confirm to whoever holds a leaked token that it was real. The log has the reason.
INVALID_TOKEN = "invalid or inactive token"  # noqa: S105 (a message, not a secret)


class TokenUser:
    """request.user for a token: authenticated, never staff, with its principal."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.username = principal.username

    def __str__(self) -> str:
        return str(self.principal)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer ar_…`. An unknown, expired or revoked token, or one of a
    deactivated service, is a 401 that does not say which."""

    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        try:
            header = authentication.get_authorization_header(request).split()
        except UnicodeError:  # not ISO-8859-1, as HTTP headers are: no token of ours
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "send the token as 'Authorization: Bearer <token>'"
            )
        presented = header[1].decode("ascii", "replace")
        try:
            principal, token = accounts.authenticate_token(presented)
        except DomainError as exc:
            logger.warning("API token %s refused: %s", _prefix(presented), exc)
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        return TokenUser(principal), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="auditreg"'


def _prefix(presented: str) -> str:
    """The token's public prefix for the log (never its secret)."""
    parts = presented.split("_", 2)
    if len(parts) == 3 and parts[1].isascii() and parts[1].isalnum() and len(parts[1]) <= 32:
        return repr(parts[1])
    return "(not an auditreg token)"


def acting_principal(request: Request) -> Principal:
    """The principal a request acts as: the token's service, or the signed-in person."""
    if isinstance(request.user, TokenUser):
        return request.user.principal
    try:
        return accounts.principal_for(request.user)
    except DomainError as exc:
        raise exceptions.PermissionDenied(str(exc)) from None


def HasScope(scope: str) -> type[permissions.BasePermission]:
    """Tokens need `scope`; people signed in with a session need to be enrolled (their roles
    are checked by `Readable`, or by the services for a write)."""

    class _HasScope(permissions.BasePermission):
        message = f"this API token lacks the '{scope}' scope"

        def has_permission(self, request: Request, view: "APIView") -> bool:
            if isinstance(request.auth, ApiToken):
                return scope in request.auth.scopes
            if not (request.user and request.user.is_authenticated):
                return False
            acting_principal(request)  # a Django account that is not enrolled: 403
            return True

    _HasScope.__name__ = f"HasScope_{scope}"
    return _HasScope


class Readable(HasScope("read")):  # type: ignore[misc]
    """The rule of every read: tokens need the `read` scope; people need an active enrolment
    and a role in the registry (an auditor reads everything; a person with no role reads
    nothing)."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not super().has_permission(request, view):
            return False
        if isinstance(request.user, TokenUser):
            return True
        principal = acting_principal(request)
        if not principal.active or not principal.roles() & accounts.READERS:
            raise exceptions.PermissionDenied(f"{principal} has no role in the registry")
        return True


Ingest = HasScope("ingest")
