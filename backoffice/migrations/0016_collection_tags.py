from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Collections' tags (the Rekognition-compatible API's TagResource): administrators see them in the back
    office."""

    dependencies = [
        ("backoffice", "0015_video_jobs"),
        ("rekognition_api", "0005_collection_tags"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
