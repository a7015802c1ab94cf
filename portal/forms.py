from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from auditreg.accounts import lockout


class SignInForm(AuthenticationForm):
    """Django's sign-in form. The lock-out is the authentication backend's
    (`registry.lockout`), so it holds for every sign-in path; this form only words it.

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

    def get_invalid_login_error(self) -> forms.ValidationError:
        """ "Locked" when the password was not even checked; "did not match" when it was."""
        until = lockout.locked_until(self.cleaned_data.get("username") or "")
        if until is not None and getattr(self.request, "password_locked", False):
            local = timezone.localtime(until)
            return forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"until": f"{local:%H:%M} {local.tzname()}"},
            )
        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={
                "limit": settings.AUDITREG_SIGNIN_MAX_FAILURES,
                "minutes": settings.AUDITREG_SIGNIN_LOCK_MINUTES,
            },
        )
