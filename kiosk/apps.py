from django.apps import AppConfig


class KioskConfig(AppConfig):
    """The door kiosk: a page at /kiosk/ where a badge and a face open a door, and the kiosks' accounts."""

    name = "kiosk"
    verbose_name = "Door kiosks"
    default_auto_field = "django.db.models.BigAutoField"
