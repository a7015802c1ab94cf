"""Who is calling the API: service principals with Bearer tokens, people with sessions."""

from typing import TYPE_CHECKING

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from auditreg.errors import DomainError
from auditreg.registry import services
from auditreg.registry.models import ApiToken, Principal

if TYPE_CHECKING:  # DRF imports this module while loading its settings
    from rest_framework.views import APIView


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
    """`Authorization: Bearer ar_…`. An unknown, expired or revoked token is a 401."""

    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "send the token as 'Authorization: Bearer <token>'"
            )
        try:
            principal, token = services.authenticate_token(header[1].decode("ascii", "replace"))
        except DomainError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return TokenUser(principal), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="auditreg"'


def acting_principal(request: Request) -> Principal:
    """The principal a request acts as: the token's service, or the signed-in person."""
    if isinstance(request.user, TokenUser):
        return request.user.principal
    try:
        return services.principal_for(request.user)
    except DomainError as exc:
        raise exceptions.PermissionDenied(str(exc)) from None


def HasScope(scope: str) -> type[permissions.BasePermission]:
    """Tokens need `scope`; people signed in with a session are checked by role in the
    services instead."""

    class _HasScope(permissions.BasePermission):
        message = f"this API token lacks the '{scope}' scope"

        def has_permission(self, request: Request, view: "APIView") -> bool:
            if isinstance(request.auth, ApiToken):
                return scope in request.auth.scopes
            return bool(request.user and request.user.is_authenticated)

    _HasScope.__name__ = f"HasScope_{scope}"
    return _HasScope
