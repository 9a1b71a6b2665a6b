from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """The Kiosk role (badge checks only), and administrators managing kiosks."""

    dependencies = [
        ("backoffice", "0003_calibration_for_administrators"),
        ("kiosk", "0001_initial"),
        ("recognition", "0025_kiosk_checks"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
