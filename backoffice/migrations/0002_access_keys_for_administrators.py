from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Administrators manage the Rekognition-compatible API's access keys."""

    dependencies = [
        ("backoffice", "0001_roles"),
        ("rekognition_api", "0001_initial"),
        ("recognition", "0014_rekognition_api_fields"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
