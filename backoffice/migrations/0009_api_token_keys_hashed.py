"""Existing API tokens keep working, with the database holding only their keys' hashes from now on.

The hash is backoffice.tokens.stored_key's, written out here so that this migration does the same whatever
that module becomes. It cannot be undone: the keys are not kept anywhere.
"""

import hashlib

from django.db import migrations


def hash_keys(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    for key in list(Token.objects.values_list("key", flat=True)):
        Token.objects.filter(key=key).update(key=hashlib.sha256(key.encode()).hexdigest()[:40])


class Migration(migrations.Migration):
    dependencies = [
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("backoffice", "0008_api_token"),
    ]

    operations = [
        migrations.RunPython(hash_keys, migrations.RunPython.noop, elidable=False),
    ]
