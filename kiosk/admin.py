"""Kiosks in the back office: creating one makes its account (in the Kiosk role) and shows its password once."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from kiosk.accounts import kiosk_create, kiosk_new_password
from kiosk.models import Kiosk
from recognition.audit import request_ip


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "threshold", "liveness", "active", "user"]
    list_filter = ["active", "liveness"]
    fields = ["name", "location", "threshold", "liveness", "explain_refusals", "active", "user"]
    readonly_fields = ["user"]
    actions = ["new_password"]

    def save_model(self, request: HttpRequest, obj: Kiosk, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        password = kiosk_create(kiosk=obj, actor=request.user, client_ip=request_ip(request))
        self._tell_password(request, obj, password)

    @admin.action(description="Give the selected kiosks new passwords (signs them out)")
    def new_password(self, request: HttpRequest, queryset: QuerySet[Kiosk]) -> None:
        for kiosk in queryset.select_related("user"):
            password = kiosk_new_password(kiosk=kiosk, actor=request.user, client_ip=request_ip(request))
            self._tell_password(request, kiosk, password)

    def _tell_password(self, request: HttpRequest, kiosk: Kiosk, password: str) -> None:
        self.message_user(
            request,
            f"Sign the screen at {kiosk} in at {request.build_absolute_uri(reverse('kiosk:sign_in'))} as "
            f"{kiosk.user.get_username()} with the password {password} (shown only now).",
            messages.WARNING,
        )
