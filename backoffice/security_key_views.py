"""A back-office user's two-step sign-in settings: their authenticator app, and their security keys
(``backoffice.security_keys``) listed, added with the browser (``security_keys.js``) and removed, and whether
only keys sign them in. Behind the admin's own check: signed in, second step passed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backoffice import security_keys
from backoffice.models import Authenticator
from backoffice.two_step import codes_refused, key_needed, keys_only, keys_required, recovery_codes_left
from backoffice.two_step_views import answer_in_json

KEYS_ONLY_CHOSEN = {
    "on": "From now on only your security keys sign you in: codes from your app and recovery codes are refused.",
    "off": "Codes from your authenticator app and your recovery codes sign you in again, as well as your keys.",
}


def page(request: HttpRequest) -> HttpResponse:
    """The user's authenticator app and keys, with a button to add a key, one to remove each, and keys only
    chosen or not."""
    if request.method == "POST":
        try:
            _change(request)
        except security_keys.KeyRefused as refused:
            messages.error(request, str(refused))
        return HttpResponseRedirect(reverse("admin:two_step_settings"))
    user: Any = request.user
    held = key_needed(request)
    authenticator = Authenticator.objects.filter(user=user).first()
    return render(request, "admin/two_step_settings.html", {
        **admin.site.each_context(request), "title": "Two-step sign-in", "keys": security_keys.keys_of(user),
        "authenticator": authenticator, "keys_only": codes_refused(user, authenticator),
        "recovery_codes_left": recovery_codes_left(user),
        "keys_required": keys_required(user), "key_needed": held,
        **({"is_nav_sidebar_enabled": False} if held else {}),  # its links would only lead back here
    })  # fmt: skip


def _change(request: HttpRequest) -> None:
    """What the page's buttons ask: a key removed, or keys only chosen (``on``) or not (``off``)."""
    chosen, keys_only = request.POST.get("remove", ""), request.POST.get("keys_only")
    if chosen.isdigit() and (removed := security_keys.key_remove(request, int(chosen))):
        messages.success(request, f"The security key “{removed}” is removed: it no longer signs you in.")
    elif keys_only in KEYS_ONLY_CHOSEN and security_keys.keys_only_choose(request, keys_only=keys_only == "on"):
        messages.success(request, KEYS_ONLY_CHOSEN[keys_only])


@require_POST
def add_options(request: HttpRequest) -> JsonResponse:
    return answer_in_json(request, lambda: {"options": security_keys.add_options(request)})


@require_POST
def add(request: HttpRequest) -> JsonResponse:
    def added() -> dict[str, str]:
        answer, name = request.POST.get("credential", ""), request.POST.get("name", "")
        key = security_keys.key_add(request, credential=answer, name=name)
        then = "Only your keys sign you in." if keys_only(request.user) else "Next time, use it instead of a code."
        messages.success(request, f"The security key “{key.name}” is added. {then}")
        return {"next": reverse("admin:two_step_settings")}

    return answer_in_json(request, added)
