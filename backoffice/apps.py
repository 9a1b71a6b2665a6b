from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """What spans recognition and integrations in the back office: the roles and the admin dashboard."""

    name = "backoffice"
    verbose_name = "Back office"
