from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an `Idempotency-Key`, kept so that a repeat
    returns it. Not a ledger fact: a cache of HTTP answers, keyed per principal."""

    principal = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    request_digest = models.CharField(max_length=71, help_text="method, path and body")
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "api_idempotency_record"
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="api_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
