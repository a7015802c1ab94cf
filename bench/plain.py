"""The baseline for the append benchmark: a plain table with the ledger's columns, row size
and indexes, written with a plain ORM insert: no lock, no chain, no triggers."""

from django.db import connection, models


class PlainRow(models.Model):
    objects: "models.Manager[PlainRow]" = models.Manager()

    recorded_at = models.DateTimeField()
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    actor = models.CharField(max_length=200)
    hash = models.BinaryField(max_length=32, unique=True)
    subtrees = models.BinaryField()
    body = models.BinaryField()

    class Meta:
        app_label = "ledger"
        db_table = "bench_plain_row"
        managed = False
        indexes = [models.Index(fields=["subject", "id"], name="bench_plain_row_subject")]

    def __str__(self) -> str:
        return f"plain row {self.pk}"


def create_table() -> None:
    with connection.schema_editor() as editor:
        editor.create_model(PlainRow)
        editor.execute(
            "CREATE INDEX bench_plain_row_time ON bench_plain_row USING brin (recorded_at)"
        )
