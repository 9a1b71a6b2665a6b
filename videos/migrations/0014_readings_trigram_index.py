"""On PostgreSQL, a trigram index on the stretches' readings, so finding videos by a part of a line of text
(``?text=``, the back office's search: ``LIKE '%…%'``) reads the index rather than every video's text. SQLite
has no such index and scans; so does a PostgreSQL where the pg_trgm extension cannot be created (the
migration says what to run as a superuser)."""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger("videos.migrations")

INDEX = "videos_stretch_readings_trgm"
CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON videos_videolabelsegment USING gin (readings gin_trgm_ops)",
]


def index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():
            for statement in CREATE:
                schema_editor.execute(statement)
    except DatabaseError as exc:  # e.g. not allowed to create the extension
        logger.warning(
            "The trigram index on video text could not be made (%s); finding videos by their text scans them. "
            "As a superuser, run: %s.", str(exc).strip(), "; ".join(CREATE),
        )  # fmt: skip


def unindex(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("videos", "0013_stretch_readings")]

    operations = [migrations.RunPython(index, unindex, elidable=False)]
