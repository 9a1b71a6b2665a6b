"""Kiosks in the back office: creating one makes its account (in the Kiosk role) and shows its password once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from backoffice.roles import KIOSK
from kiosk.models import Kiosk


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "threshold", "liveness", "active", "user"]
    list_filter = ["active", "liveness"]
    fields = ["name", "location", "threshold", "liveness", "active", "user"]
    readonly_fields = ["user"]
    actions = ["new_password"]

    def save_model(self, request: HttpRequest, obj: Kiosk, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            password = secrets.token_urlsafe(12)
            user = get_user_model().objects.create_user(username=f"kiosk-{obj.name}", password=password)
            user.groups.add(Group.objects.get(name=KIOSK))
            obj.user = user
            super().save_model(request, obj, form, change)
        self._tell_password(request, obj, password)

    @admin.action(description="Give the selected kiosks new passwords (signs them out)")
    def new_password(self, request: HttpRequest, queryset: QuerySet[Kiosk]) -> None:
        for kiosk in queryset.select_related("user"):
            password = secrets.token_urlsafe(12)
            kiosk.user.set_password(password)  # a new password ends the sessions made with the old one
            kiosk.user.save(update_fields=["password"])
            self._tell_password(request, kiosk, password)

    def _tell_password(self, request: HttpRequest, kiosk: Kiosk, password: str) -> None:
        self.message_user(
            request,
            f"Sign the screen at {kiosk} in at {request.build_absolute_uri(reverse('kiosk:sign_in'))} as "
            f"{kiosk.user.get_username()} with the password {password} (shown only now).",
            messages.WARNING,
        )
