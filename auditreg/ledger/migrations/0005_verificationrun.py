"""Verification runs move from the portal into the ledger app, keeping their table
`portal_verificationrun`: this migration only tells Django's state that the ledger owns the
model; portal migration 0004 removes it from the portal's state. No table, index or row
changes.

It runs after portal 0002, which created the table (on a fresh database as on one migrated
before the move), so the table the state points at always exists."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_kind_actor_indexes"),
        ("portal", "0002_verification_run"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="VerificationRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("started_by", models.CharField(max_length=200)),
                        ("started_by_name", models.CharField(blank=True, max_length=200)),
                        ("started_at", models.DateTimeField()),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "running"),
                                    ("intact", "intact"),
                                    ("broken", "broken"),
                                    ("error", "error"),
                                ],
                                default="running",
                                max_length=10,
                            ),
                        ),
                        ("entries_verified", models.BigIntegerField(blank=True, null=True)),
                        ("checkpoints_checked", models.IntegerField(blank=True, null=True)),
                        ("first_bad_seq", models.BigIntegerField(blank=True, null=True)),
                        ("reason", models.TextField(blank=True)),
                        ("summary", models.TextField(blank=True)),
                    ],
                    options={
                        "db_table": "portal_verificationrun",
                        "indexes": [
                            models.Index(fields=["-started_at"], name="verification_run_started")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(
                                    ("status", "running"),
                                    models.Q(("started_by", "command"), _negated=True),
                                ),
                                fields=("status",),
                                name="one_queued_verification_running",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
