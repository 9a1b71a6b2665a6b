from django.conf import settings
from django.db import migrations


def create_default_collection(apps, schema_editor):
    Collection = apps.get_model("recognition", "Collection")
    Collection.objects.get_or_create(
        name=settings.FACESITE_DEFAULT_COLLECTION,
        defaults={"description": "Enrolled people; images are identified against it unless told otherwise."},
    )


class Migration(migrations.Migration):
    dependencies = [("recognition", "0001_initial")]

    operations = [migrations.RunPython(create_default_collection, migrations.RunPython.noop)]
