"""A back-office user's security keys (``backoffice.security_keys``): the list, adding one with the browser
(``security_keys.js``), removing one. Behind the admin's own check: signed in, second step passed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backoffice import security_keys
from backoffice.two_step import has_authenticator
from backoffice.two_step_views import answer_in_json


def page(request: HttpRequest) -> HttpResponse:
    """The user's keys, with a button to add one and one to remove each."""
    if request.method == "POST":
        chosen = request.POST.get("remove", "")
        removed = security_keys.key_remove(request, int(chosen)) if chosen.isdigit() else None
        if removed is not None:
            messages.success(request, f"The security key “{removed}” is removed: it no longer signs you in.")
        return HttpResponseRedirect(reverse("admin:security_keys"))
    return render(request, "admin/security_keys.html", {
        **admin.site.each_context(request), "title": "Security keys", "keys": security_keys.keys_of(request.user),
        "has_authenticator": has_authenticator(request.user),
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
        return {"next": reverse("admin:security_keys")}

    return answer_in_json(request, added)
