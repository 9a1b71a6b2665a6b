from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Live cameras: everyone who reads videos sees the cameras (never their credentials)."""

    dependencies = [
        ("backoffice", "0005_videos"),
        ("videos", "0002_cameras"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
