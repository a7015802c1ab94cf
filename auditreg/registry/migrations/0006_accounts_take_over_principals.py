from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_password_stamp"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        # The models moved to the accounts app with their tables: state only.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="apitoken",
                    name="principal",
                ),
                migrations.DeleteModel(
                    name="PasswordFailure",
                ),
                migrations.DeleteModel(
                    name="PasswordStamp",
                ),
                migrations.RemoveField(
                    model_name="roleassignment",
                    name="principal",
                ),
                migrations.DeleteModel(
                    name="ApiToken",
                ),
                migrations.DeleteModel(
                    name="Principal",
                ),
                migrations.DeleteModel(
                    name="RoleAssignment",
                ),
            ],
        ),
    ]
