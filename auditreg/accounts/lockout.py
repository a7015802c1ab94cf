"""Password lock-out, one rule for every place a password is entered: the portal's sign-in,
the administration's sign-in (both through Django's `authenticate`, so through
`LockoutBackend`) and the password re-entered to sign (21 CFR 11.200).

Each attempt is counted before the password is checked, in its own committed row, and
the check is refused when that count passes the limit: of any number of concurrent
guesses, at most AUDITREG_SIGNIN_MAX_FAILURES are ever checked in a window. Callers must not
hold a transaction open around `attempt` (the count must be visible to the others).

A person's password counts only if its setting is recorded in the ledger (`PasswordStamp`):
one set behind the ledger's back, by an administrator's console or in the database, neither
signs in nor signs.
"""

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from auditreg.accounts.models import PasswordFailure, PasswordStamp, Principal


def password_fingerprint(stored_hash: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, stored_hash.encode(), hashlib.sha256).hexdigest()


def password_is_recorded(user: Any) -> bool:
    """Whether the user's current password was set through `set_password` or enrolment."""
    stamp = PasswordStamp.objects.filter(username=user.get_username()).first()
    return stamp is not None and hmac.compare_digest(
        stamp.fingerprint, password_fingerprint(user.password)
    )


def check_password(user: Any, raw: str) -> bool:
    """`user.check_password`, keeping a recorded password recorded when Django re-hashes it
    on the way (a stronger hasher or more iterations after an upgrade)."""
    previous = user.password
    if not user.check_password(raw):
        return False
    _keep_stamp(user, previous)
    return True


def _keep_stamp(user: Any, previous_hash: str) -> None:
    if user.password != previous_hash:
        PasswordStamp.objects.filter(
            username=user.get_username(), fingerprint=password_fingerprint(previous_hash)
        ).update(fingerprint=password_fingerprint(user.password))


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


class Outcome(Enum):
    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"  # refused without checking the password


def attempt(username: str, check: Callable[[], bool]) -> Outcome:
    """Count an attempt at `username`'s password, then let `check()` decide it: LOCKED,
    without calling it, when the username is locked or would be once this attempt counts."""
    if locked_until(username) is not None:
        return Outcome.LOCKED
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
        return Outcome.LOCKED  # others got here first; this attempt stays counted
    if not check():
        _forget_expired()
        return Outcome.WRONG
    PasswordFailure.objects.filter(username=counted.username).delete()
    return Outcome.RIGHT


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
        users = get_user_model()
        try:
            user = users._default_manager.get_by_natural_key(username)
        except users.DoesNotExist:
            user = None

        def check() -> bool:
            if user is None:
                users().set_password(password)  # as long as a real check (as ModelBackend)
                return False
            return check_password(user, password) and self.user_can_authenticate(user)

        outcome = attempt(username, check)
        if outcome is Outcome.LOCKED:
            if request is not None:
                request.password_locked = True  # type: ignore[attr-defined]  # for the form
            raise PermissionDenied("locked")
        if outcome is Outcome.WRONG:
            return None
        if not self._password_recorded(user):
            raise PermissionDenied("password set outside the record")
        return user

    @staticmethod
    def _password_recorded(user: Any) -> bool:
        """An enrolled person signs in only with a password whose setting is recorded
        (`principal.password_set`); an account that is not enrolled has no rights here."""
        enrolled = Principal.objects.filter(actor_id=f"user:{user.get_username()}").exists()
        return not enrolled or password_is_recorded(user)
