from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """The Rekognition-compatible API's video jobs: administrators see them in the back office."""

    dependencies = [
        ("backoffice", "0014_authenticator_keys_only"),
        ("rekognition_api", "0003_face_detection_jobs"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
