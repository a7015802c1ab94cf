"""An index on recorded_at for time-range queries: BRIN on PostgreSQL (a few pages for
millions of rows, nearly free to maintain, since entries arrive in time order), a b-tree
on SQLite."""

from django.db import migrations


def forward(apps, schema_editor):
    using = "USING brin " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX ledger_entry_time ON ledger_entry {using}(recorded_at)")


def backward(apps, schema_editor):
    schema_editor.execute("DROP INDEX ledger_entry_time")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_append_only")]

    operations = [migrations.RunPython(forward, backward)]
