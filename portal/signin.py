"""Account lock-out: too many failed sign-ins for a username within a window lock it."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from portal.models import SignInFailure


def _window() -> timedelta:
    return timedelta(minutes=settings.AUDITREG_SIGNIN_LOCK_MINUTES)


def normalize(username: str) -> str:
    return username.strip().lower()[:150]


def locked_until(username: str) -> datetime | None:
    """When the username's lock ends, or None when it is not locked."""
    window = _window()
    recent = list(
        SignInFailure.objects.filter(
            username=normalize(username), failed_at__gt=timezone.now() - window
        )
        .order_by("-failed_at")
        .values_list("failed_at", flat=True)[: settings.AUDITREG_SIGNIN_MAX_FAILURES]
    )
    if len(recent) < settings.AUDITREG_SIGNIN_MAX_FAILURES:
        return None
    return recent[-1] + window


def record_failure(username: str) -> None:
    SignInFailure.objects.create(username=normalize(username), failed_at=timezone.now())


def clear_failures(username: str) -> None:
    SignInFailure.objects.filter(username=normalize(username)).delete()
