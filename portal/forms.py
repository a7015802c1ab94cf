from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from portal import signin


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing a locked username before checking its password.

    Both messages read the same for enrolled and unknown usernames.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "The username and password did not match. After %(limit)s failed attempts in "
            "%(minutes)s minutes, the username is locked for %(minutes)s minutes."
        ),
        "locked": (
            "Too many failed sign-ins for this username: it is locked until %(until)s. "
            "Try again then, or ask an administrator."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        until = signin.locked_until(username)
        if until is not None:
            local = timezone.localtime(until)
            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"until": f"{local:%H:%M} {local.tzname()}"},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            signin.record_failure(username)
            raise
        signin.clear_failures(username)
        return cleaned

    def get_invalid_login_error(self) -> forms.ValidationError:
        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={
                "limit": settings.AUDITREG_SIGNIN_MAX_FAILURES,
                "minutes": settings.AUDITREG_SIGNIN_LOCK_MINUTES,
            },
        )
