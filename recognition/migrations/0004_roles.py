from django.contrib.auth.management import create_permissions
from django.db import migrations

from recognition.roles import ROLE_PERMISSIONS


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, specs in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        chosen = set()
        for spec in specs:
            exclude = spec.startswith("-")
            app_label, codename = spec.lstrip("-").split(".")
            perms = Permission.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                perms = perms.filter(codename=codename)
            ids = set(perms.values_list("pk", flat=True))
            if not ids:
                raise RuntimeError(f"Permission {spec} does not exist")
            chosen = chosen - ids if exclude else chosen | ids
        group.permissions.set(chosen)


class Migration(migrations.Migration):
    dependencies = [
        ("recognition", "0003_verification_audit"),
        ("integrations", "0003_resend_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
