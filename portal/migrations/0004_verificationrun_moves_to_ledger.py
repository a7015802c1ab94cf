"""Verification runs now belong to the ledger app (ledger migration 0005), which keeps their
table: the portal forgets the model in its state only, so the table and its rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_password_failures_move_to_registry"),
        ("ledger", "0005_verificationrun"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="VerificationRun")],
            database_operations=[],
        ),
    ]
