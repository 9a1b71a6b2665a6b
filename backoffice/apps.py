from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackofficeConfig(AppConfig):
    """What spans recognition and integrations in the back office: the roles and the admin dashboard."""

    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from backoffice import auth, two_step  # noqa: F401  (connect the sign-in counters and records)


class FacesiteAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with Facesite's site (``backoffice.site``) as ``admin.site``."""

    default = False  # named in INSTALLED_APPS; BackofficeConfig is this module's default
    default_site = "backoffice.site.FacesiteAdminSite"
