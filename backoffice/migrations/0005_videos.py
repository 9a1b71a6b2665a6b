from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Videos: operators upload them and everyone who reads images reads them; administrators do the rest."""

    dependencies = [
        ("backoffice", "0004_kiosk_role"),
        ("videos", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
