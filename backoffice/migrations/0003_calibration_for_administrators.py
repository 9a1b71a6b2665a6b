from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Administrators calibrate and set match thresholds (and see watch alerts, added before this sync)."""

    dependencies = [
        ("backoffice", "0002_access_keys_for_administrators"),
        ("recognition", "0024_calibration"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
