import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.db import migrations, models


def stamp_passwords_in_place(apps: Any, schema_editor: Any) -> None:
    """Databases made before passwords were recorded: the password each enrolled person
    has at the upgrade is taken as the one set at their enrolment (its entry's seq), so
    nobody is locked out by the upgrade. Every later change is a recorded fact."""
    Principal = apps.get_model("registry", "Principal")
    PasswordStamp = apps.get_model("registry", "PasswordStamp")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    key = settings.SECRET_KEY.encode()
    for person in Principal.objects.filter(kind="person"):
        user = User.objects.filter(username=person.username).first()
        if user is None or not user.password or user.password.startswith("!"):
            continue  # no usable password: nothing to stamp
        fingerprint = hmac.new(key, user.password.encode(), hashlib.sha256).hexdigest()
        PasswordStamp.objects.create(
            username=person.username, fingerprint=fingerprint, seq=person.enrolled_seq
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_password_failure"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),  # read by the stamping
    ]

    operations = [
        migrations.CreateModel(
            name="PasswordStamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("username", models.CharField(max_length=150, unique=True)),
                ("fingerprint", models.CharField(max_length=64)),
                ("seq", models.BigIntegerField(help_text="the principal.password_set entry")),
            ],
        ),
        migrations.RunPython(stamp_passwords_in_place, migrations.RunPython.noop),
    ]
