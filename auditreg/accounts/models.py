"""People and machines (principals), their roles, and their credentials.

`Principal` and `RoleAssignment` are projections of the ledger (`accounts.projection`),
written only through `accounts.services`; API tokens, password stamps and password failures
are credential stores whose ledger-recorded columns `replay_ledger` compares. The tables
keep the names they had when they lived in the registry.
"""

from django.db import models

from auditreg.accounts.domain import Role


class Principal(models.Model):
    """A person (`user:<username>`, who signs with their Django password) or a machine
    (`service:<name>`, which never signs)."""

    actor_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16)
    username = models.CharField(max_length=150)
    printed_name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64)
    active = models.BooleanField()
    enrolled_seq = models.BigIntegerField()
    updated_seq = models.BigIntegerField()

    class Meta:
        db_table = "registry_principal"

    def __str__(self) -> str:
        return f"{self.printed_name} ({self.actor_id})"

    @property
    def is_person(self) -> bool:
        return self.kind == "person"

    def roles(self) -> set[str]:
        if self.kind == "system":  # the command line administers; it never signs or builds
            return {Role.ADMINISTRATOR.value}
        if not hasattr(self, "_roles"):
            self._roles = set(
                RoleAssignment.objects.filter(principal_id=self.actor_id).values_list(
                    "role", flat=True
                )
            )
        return self._roles


class RoleAssignment(models.Model):
    principal = models.ForeignKey(
        Principal, on_delete=models.PROTECT, to_field="actor_id", db_column="principal"
    )
    role = models.CharField(max_length=32, choices=[(r.value, r.label) for r in Role])
    granted_seq = models.BigIntegerField()

    class Meta:
        db_table = "registry_roleassignment"
        constraints = [
            models.UniqueConstraint(fields=["principal", "role"], name="one_grant_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.principal_id} is {self.role}"


class ApiToken(models.Model):
    """A service principal's API token. A credential store, like Django's users: only the
    SHA-256 of the secret is kept; issuing and revoking are recorded in the ledger."""

    principal = models.ForeignKey(
        Principal, on_delete=models.PROTECT, to_field="actor_id", db_column="principal"
    )
    name = models.CharField(max_length=100)
    # The public part of the token ("ar_<prefix>_<secret>"), for lookup and display.
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True)
    issued_seq = models.BigIntegerField()

    class Meta:
        db_table = "registry_apitoken"

    def __str__(self) -> str:
        return f"token {self.prefix} ({self.name}) of {self.principal_id}"


class PasswordFailure(models.Model):
    """A password attempt counted against a username's lock-out: a sign-in anywhere (portal,
    administration) or a signature's password. Not a ledger fact: a credential-store counter.

    A row is written *before* the password is checked, and removed when it proves right, so
    concurrent guesses are counted however fast they come. Any username typed is counted,
    enrolled or not, so the lock-out never tells which usernames exist.
    """

    username = models.CharField(max_length=150)
    failed_at = models.DateTimeField()

    class Meta:
        db_table = "registry_passwordfailure"
        indexes = [
            models.Index(fields=["username", "failed_at"], name="password_failure_time"),
            models.Index(fields=["failed_at"], name="password_failure_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.username}: password attempt at {self.failed_at:%Y-%m-%d %H:%M}"


class PasswordStamp(models.Model):
    """Which recorded fact set a person's current password (a credential-store row).

    `fingerprint` is an HMAC, keyed with SECRET_KEY, of the password's stored hash: it tells
    whether the hash Django holds now is the one a `principal.password_set` entry recorded,
    and nothing about the password. A password set any other way (an administrator's
    console, the database) matches no stamp, and neither signs in nor signs.
    """

    username = models.CharField(max_length=150, unique=True)
    fingerprint = models.CharField(max_length=64)
    seq = models.BigIntegerField(help_text="the principal.password_set entry")

    class Meta:
        db_table = "registry_passwordstamp"

    def __str__(self) -> str:
        return f"{self.username}'s password, set at entry {self.seq}"


# The projection's table names (auditreg.accounts.projection.KEYS) and their models.
TABLES: dict[str, type[models.Model]] = {
    "principal": Principal,
    "role_assignment": RoleAssignment,
}
