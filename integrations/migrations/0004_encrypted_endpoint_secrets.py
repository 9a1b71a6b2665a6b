from django.db import migrations, models
from django.utils import timezone


def encrypt_secrets(apps, schema_editor):
    from integrations.secrets import encrypt

    Endpoint = apps.get_model("integrations", "Endpoint")
    for endpoint in Endpoint.objects.all():
        endpoint.secret_encrypted = encrypt(endpoint.secret)
        endpoint.secret_changed_at = timezone.now()
        endpoint.save(update_fields=["secret_encrypted", "secret_changed_at"])


def decrypt_secrets(apps, schema_editor):
    from integrations.secrets import decrypt

    Endpoint = apps.get_model("integrations", "Endpoint")
    for endpoint in Endpoint.objects.all():
        endpoint.secret = decrypt(endpoint.secret_encrypted)
        endpoint.save(update_fields=["secret"])


class Migration(migrations.Migration):
    """Signing secrets move from a plain column to an encrypted one (FACESITE_SECRETS_KEY)."""

    dependencies = [("integrations", "0003_resend_permission")]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="secret_encrypted",
            field=models.TextField(
                default="",
                editable=False,
                help_text="The HMAC-SHA256 signing secret, encrypted (integrations.secrets). Write-only.",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="endpoint",
            name="secret_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.RemoveField(model_name="endpoint", name="secret"),
    ]
