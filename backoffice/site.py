"""The back office's admin site: Facesite's name, sign-in protection (lockouts, two-step sign-in), and its
apps in working order."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from backoffice import security_key_views as keys
from backoffice import two_step_views
from backoffice.auth import LockoutAuthenticationForm
from backoffice.two_step import session_passed

# Recognition first (where the day's work is), then deliveries, then the rest.
APP_ORDER = ["recognition", "integrations", "rekognition_api", "auth", "backoffice"]


class FacesiteAdminSite(admin.AdminSite):
    site_header = "Facesite"
    site_title = "Facesite"
    index_title = "Back office"
    # The sign-in says plainly when too many failures locked a user name out for a while.
    login_form = LockoutAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Back-office users whose session passed the second step, where they need one."""
        return super().has_permission(request) and session_passed(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """After the password, the second step (``backoffice.two_step``) before the page asked for."""
        if request.method == "GET" and (second := two_step_views.after_password(request)):
            return second
        return super().login(request, extra_context)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            # Signing out is for anyone signed in, the second step still to come too: the admin's own is
            # behind has_permission, which sent them back to the second step instead.
            path("logout/", csrf_protect(never_cache(self.logout)), name="logout"),
            path("two-step/", two_step_views.code_page, name="two_step"),
            path("two-step/setup/", two_step_views.setup_page, name="two_step_setup"),
            path("two-step/security-key/", two_step_views.key_answer, name="two_step_key"),
            path("two-step/security-key/options/", two_step_views.key_options, name="two_step_key_options"),
            path("two-step/settings/", self.admin_view(keys.page), name="two_step_settings"),
            path("two-step/security-keys/add/", self.admin_view(keys.add), name="security_key_add"),
            path("two-step/security-keys/add/options/", self.admin_view(keys.add_options), name="security_key_options"),
            *super().get_urls(),
        ]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: (rank.get(app["app_label"], len(APP_ORDER)), app["name"]))
