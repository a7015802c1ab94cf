"""Indexes for the ledger explorer's filters by kind and by actor, in seq order so a page of
the newest matching entries is read from the end of the index (keyset pages, newest first).

On PostgreSQL, CREATE INDEX blocks appends while it builds: a few seconds for a million
entries. Indexes only; the append-only triggers do not fire on index builds."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_time_index")]

    operations = [
        migrations.AddIndex(
            model_name="entry",
            index=models.Index(fields=["kind", "seq"], name="ledger_entry_kind"),
        ),
        migrations.AddIndex(
            model_name="entry",
            index=models.Index(fields=["actor", "seq"], name="ledger_entry_actor"),
        ),
    ]
