"""The portal's own table: failed sign-ins, counted per username for the lock-out.

Kept in the database rather than the cache: the cache may be one process's local memory,
which would let an attacker spread guesses over the workers.
"""

from django.db import models


class SignInFailure(models.Model):
    # Any username typed, enrolled or not, so the lock-out never tells which ones exist.
    username = models.CharField(max_length=150)
    failed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["username", "failed_at"], name="signin_failure_time")]

    def __str__(self) -> str:
        return f"{self.username} failed to sign in at {self.failed_at:%Y-%m-%d %H:%M}"
