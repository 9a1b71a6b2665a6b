from django.db import migrations

from recognition.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [("recognition", "0005_review_queue")]

    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
