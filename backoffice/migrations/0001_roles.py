from django.db import migrations

from backoffice.roles import sync_roles_migration


class Migration(migrations.Migration):
    """Create the role groups with their permissions in both apps (idempotent: safe where they exist)."""

    dependencies = [
        ("recognition", "0011_download_original_permission"),
        ("integrations", "0003_resend_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
