"""The pgvector column of enrolled embeddings, where PostgreSQL has the vector extension (see face_vectors)."""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger("recognition.face_vectors")


def install(apps, schema_editor):
    from recognition import face_vectors

    if schema_editor.connection.alias != "default" or not face_vectors.extension_available():
        return  # SQLite, or a PostgreSQL without pgvector: the in-process search is used
    try:
        with transaction.atomic():
            face_vectors.install()
    except DatabaseError as exc:  # e.g. not allowed to create the extension
        logger.warning(
            "pgvector is available but could not be installed (%s); face search stays in memory. "
            "Run `manage.py face_vectors --install` as a superuser.",
            str(exc).strip(),
        )


def uninstall(apps, schema_editor):
    from recognition import face_vectors

    if schema_editor.connection.alias == "default" and face_vectors.installed():
        face_vectors.uninstall()


class Migration(migrations.Migration):
    dependencies = [("recognition", "0020_prune_watermark")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
