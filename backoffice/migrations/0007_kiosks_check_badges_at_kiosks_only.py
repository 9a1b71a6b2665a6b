from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """The Kiosk role checks badges at a kiosk's page only (kiosk.check_badges), no longer through the API's
    /api/verify/, whose answer names a badge's holder even when the face does not match."""

    dependencies = [
        ("backoffice", "0006_cameras"),
        ("kiosk", "0002_check_badges_permission"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
