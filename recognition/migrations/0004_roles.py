from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recognition", "0003_verification_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    # The roles are synced by the backoffice app's migrations now, so that recognition does not depend on
    # integrations; this migration stays, empty, for databases that have already applied it.
    operations = []
