from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recognition", "0005_review_queue")]

    # The roles are synced by the backoffice app's migrations now, so that recognition does not depend on
    # integrations; this migration stays, empty, for databases that have already applied it.
    operations = []
