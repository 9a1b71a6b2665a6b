"""The back office's admin site: Facesite's name, sign-in protection (lockouts, two-step sign-in), and its
apps in working order."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from backoffice import security_key_views as keys
from backoffice import two_step_views
from backoffice.auth import LockoutAuthenticationForm
from backoffice.two_step import key_needed, session_passed

# Recognition first (where the day's work is), then deliveries, then the rest.
APP_ORDER = ["recognition", "integrations", "rekognition_api", "auth", "backoffice"]


class FacesiteAdminSite(admin.AdminSite):
    site_header = "Facesite"
    site_title = "Facesite"
    index_title = "Back office"
    # The sign-in says plainly when too many failures locked a user name out for a while.
    login_form = LockoutAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Back-office users whose session passed the second step, where they need one, and who have a security
        key where their role signs in with keys only."""
        return super().has_permission(request) and session_passed(request) and not key_needed(request)

    def two_step_view(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        """``view`` as ``admin_view`` has it, for a session through the second step whether or not it still
        has a key to add (``key_needed``): the two-step settings, where such a user is held until they add one."""

        def through(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not (super(FacesiteAdminSite, self).has_permission(request) and session_passed(request)):
                return redirect_to_login(request.get_full_path(), reverse("admin:login", current_app=self.name))
            return view(request, *args, **kwargs)

        return csrf_protect(never_cache(update_wrapper(through, view)))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """After the password, the second step (``backoffice.two_step``) before the page asked for."""
        if request.method == "GET" and (second := two_step_views.after_password(request)):
            return second
        return super().login(request, extra_context)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        held = self.two_step_view  # pages a user who must add a key first may see
        return [
            # Signing out is for anyone signed in, the second step still to come too: the admin's own is
            # behind has_permission, which sent them back to the second step instead.
            path("logout/", csrf_protect(never_cache(self.logout)), name="logout"),
            path("two-step/", two_step_views.code_page, name="two_step"),
            path("two-step/setup/", two_step_views.setup_page, name="two_step_setup"),
            path("two-step/security-key/", two_step_views.key_answer, name="two_step_key"),
            path("two-step/security-key/options/", two_step_views.key_options, name="two_step_key_options"),
            path("two-step/settings/", held(keys.page), name="two_step_settings"),
            path("two-step/security-keys/add/", held(keys.add), name="security_key_add"),
            path("two-step/security-keys/add/options/", held(keys.add_options), name="security_key_options"),
            *super().get_urls(),
        ]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: (rank.get(app["app_label"], len(APP_ORDER)), app["name"]))
