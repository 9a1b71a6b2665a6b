from django.db import migrations

from recognition.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [
        ("recognition", "0003_verification_audit"),
        ("integrations", "0003_resend_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
