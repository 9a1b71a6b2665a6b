from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """What spans recognition and integrations in the back office: the roles and the admin dashboard."""

    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from backoffice import auth  # noqa: F401  (connects the sign-in failure counters)
