from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Administrators export everything held about a person (subject access)."""

    dependencies = [
        ("backoffice", "0009_api_token_keys_hashed"),
        ("recognition", "0032_person_export"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
