"""A back-office user's two-step sign-in settings: their authenticator app, and their security keys
(``backoffice.security_keys``) listed, added with the browser (``security_keys.js``) and removed. Behind the
admin's own check: signed in, second step passed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backoffice import security_keys
from backoffice.models import Authenticator
from backoffice.two_step import recovery_codes_left
from backoffice.two_step_views import answer_in_json


def page(request: HttpRequest) -> HttpResponse:
    """The user's authenticator app and keys, with a button to add a key and one to remove each."""
    if request.method == "POST":
        chosen = request.POST.get("remove", "")
        removed = security_keys.key_remove(request, int(chosen)) if chosen.isdigit() else None
        if removed is not None:
            messages.success(request, f"The security key “{removed}” is removed: it no longer signs you in.")
        return HttpResponseRedirect(reverse("admin:two_step_settings"))
    user: Any = request.user
    return render(request, "admin/two_step_settings.html", {
        **admin.site.each_context(request), "title": "Two-step sign-in", "keys": security_keys.keys_of(user),
        "authenticator": Authenticator.objects.filter(user=user).first(),
        "recovery_codes_left": recovery_codes_left(user),
    })  # fmt: skip


@require_POST
def add_options(request: HttpRequest) -> JsonResponse:
    return answer_in_json(request, lambda: {"options": security_keys.add_options(request)})


@require_POST
def add(request: HttpRequest) -> JsonResponse:
    def added() -> dict[str, str]:
        answer, name = request.POST.get("credential", ""), request.POST.get("name", "")
        key = security_keys.key_add(request, credential=answer, name=name)
        messages.success(request, f"The security key “{key.name}” is added. Next time, use it instead of a code.")
        return {"next": reverse("admin:two_step_settings")}

    return answer_in_json(request, added)
