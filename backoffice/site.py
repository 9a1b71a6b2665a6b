"""The back office's admin site: Facesite's name, sign-in protection, and its apps in working order."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backoffice.auth import LockoutAuthenticationForm

# Recognition first (where the day's work is), then deliveries, then the rest.
APP_ORDER = ["recognition", "integrations", "rekognition_api", "auth", "backoffice"]


class FacesiteAdminSite(admin.AdminSite):
    site_header = "Facesite"
    site_title = "Facesite"
    index_title = "Back office"
    # The sign-in says plainly when too many failures locked a user name out for a while.
    login_form = LockoutAuthenticationForm

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: (rank.get(app["app_label"], len(APP_ORDER)), app["name"]))
