"""Password lock-out, one rule for every place a password is entered: the portal's sign-in,
the administration's sign-in (both through Django's `authenticate`, so through
`LockoutBackend`) and the password re-entered to sign (21 CFR 11.200).

Each attempt is counted before the password is checked, in its own committed row, and
the check is refused when that count passes the limit: of any number of concurrent
guesses, at most AUDITREG_SIGNIN_MAX_FAILURES are ever checked in a window. Callers must not
hold a transaction open around `attempt` (the count must be visible to the others).
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from auditreg.registry.models import PasswordFailure


def normalize(username: str) -> str:
    return username.strip().lower()[:150]


def _window() -> timedelta:
    return timedelta(minutes=settings.AUDITREG_SIGNIN_LOCK_MINUTES)


def locked_until(username: str) -> datetime | None:
    """When the username's lock ends, or None when it is not locked."""
    limit = settings.AUDITREG_SIGNIN_MAX_FAILURES
    recent = list(
        PasswordFailure.objects.filter(
            username=normalize(username), failed_at__gt=timezone.now() - _window()
        )
        .order_by("-failed_at")
        .values_list("failed_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    return recent[-1] + _window()


def attempt(username: str, check: Callable[[], bool]) -> bool:
    """Whether `check()` proved the password right; False without calling it when the
    username is locked, or would be once this attempt is counted."""
    if locked_until(username) is not None:
        return False
    with transaction.atomic():
        counted = PasswordFailure.objects.create(
            username=normalize(username), failed_at=timezone.now()
        )
    # Every committed attempt in the window counts, this one included: the n-th to commit
    # sees at least n, so past the limit none of them reaches the password check.
    recent = PasswordFailure.objects.filter(
        username=counted.username, failed_at__gt=timezone.now() - _window()
    )
    if recent.count() > settings.AUDITREG_SIGNIN_MAX_FAILURES:
        return False  # others got here first; this attempt stays counted
    if not check():
        _forget_expired()
        return False
    PasswordFailure.objects.filter(username=counted.username).delete()
    return True


def _forget_expired() -> None:
    """Keep the table to one window's attempts, whatever usernames are typed."""
    PasswordFailure.objects.filter(failed_at__lte=timezone.now() - _window()).delete()


class LockoutBackend(ModelBackend):
    """Django's own user check, behind the lock-out. A locked username stops the chain
    (PermissionDenied), so no later backend checks its password either."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        found: list[Any] = []

        def check() -> bool:
            user = super(LockoutBackend, self).authenticate(
                request, username=username, password=password, **kwargs
            )
            found.append(user)
            return user is not None

        if not attempt(username, check) and not found:
            raise PermissionDenied("locked")
        return found[0] if found else None
