import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("registry", "0005_password_stamp"),
    ]

    operations = [
        # The tables were created by the registry's migrations and keep their names: this
        # app takes over their models, and the database does not change.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PasswordStamp",
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
                        ("username", models.CharField(max_length=150, unique=True)),
                        ("fingerprint", models.CharField(max_length=64)),
                        (
                            "seq",
                            models.BigIntegerField(help_text="the principal.password_set entry"),
                        ),
                    ],
                    options={
                        "db_table": "registry_passwordstamp",
                    },
                ),
                migrations.CreateModel(
                    name="Principal",
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
                        ("actor_id", models.CharField(max_length=200, unique=True)),
                        ("kind", models.CharField(max_length=16)),
                        ("username", models.CharField(max_length=150)),
                        ("printed_name", models.CharField(max_length=200)),
                        ("time_zone", models.CharField(max_length=64)),
                        ("active", models.BooleanField()),
                        ("enrolled_seq", models.BigIntegerField()),
                        ("updated_seq", models.BigIntegerField()),
                    ],
                    options={
                        "db_table": "registry_principal",
                    },
                ),
                migrations.CreateModel(
                    name="PasswordFailure",
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
                        ("username", models.CharField(max_length=150)),
                        ("failed_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "registry_passwordfailure",
                        "indexes": [
                            models.Index(
                                fields=["username", "failed_at"], name="password_failure_time"
                            ),
                            models.Index(fields=["failed_at"], name="password_failure_expiry"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ApiToken",
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
                        ("name", models.CharField(max_length=100)),
                        ("prefix", models.CharField(max_length=16, unique=True)),
                        ("digest", models.CharField(max_length=64)),
                        ("scopes", models.JSONField()),
                        ("created_at", models.DateTimeField()),
                        ("expires_at", models.DateTimeField()),
                        ("revoked_at", models.DateTimeField(null=True)),
                        ("issued_seq", models.BigIntegerField()),
                        (
                            "principal",
                            models.ForeignKey(
                                db_column="principal",
                                on_delete=django.db.models.deletion.PROTECT,
                                to="accounts.principal",
                                to_field="actor_id",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "registry_apitoken",
                    },
                ),
                migrations.CreateModel(
                    name="RoleAssignment",
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
                        (
                            "role",
                            models.CharField(
                                choices=[
                                    ("developer", "developer"),
                                    ("validator", "validator"),
                                    ("approver", "approver"),
                                    ("model_risk_committee", "model risk committee"),
                                    ("auditor", "auditor"),
                                    ("administrator", "administrator"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("granted_seq", models.BigIntegerField()),
                        (
                            "principal",
                            models.ForeignKey(
                                db_column="principal",
                                on_delete=django.db.models.deletion.PROTECT,
                                to="accounts.principal",
                                to_field="actor_id",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "registry_roleassignment",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("principal", "role"), name="one_grant_per_role"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
