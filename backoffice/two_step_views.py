"""The back office's second sign-in step (``backoffice.two_step``): asking for the code or a security key
(``backoffice.security_keys``), and setting up an authenticator app. All come after the password, on the
admin's sign-in page's look."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from backoffice.security_keys import KeyRefused, keys_of, sign_in_options, sign_in_with_key
from backoffice.two_step import (
    RECOVERY,
    AuthenticatorUnreadable,
    CodesRefused,
    SecondStepLocked,
    SetupClosed,
    has_authenticator,
    key_needed,
    keys_only,
    recovery_codes_left,
    refuse_late_setup,
    second_step,
    session_passed,
    setup_finish,
    setup_secret,
    setup_uri,
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )  # fmt: skip


def after_password(request: HttpRequest) -> HttpResponse | None:
    """Where a signed-in back-office user whose session has not passed the second step goes instead of the
    page asked for (or, through it, one who must add a security key first); None when they may go on."""
    if not _back_office_user(request):
        return None
    if session_passed(request):
        return HttpResponseRedirect(reverse("admin:two_step_settings")) if key_needed(request) else None
    asked = request.GET.get(REDIRECT_FIELD_NAME)
    query = f"?{urlencode({REDIRECT_FIELD_NAME: asked})}" if asked else ""
    return HttpResponseRedirect(reverse("admin:two_step") + query)


@never_cache
@csrf_protect
def code_page(request: HttpRequest) -> HttpResponse:
    """The code from the authenticator app (or a recovery code); setting one up for those who have none."""
    if (refused := _signed_in_first(request)) or session_passed(request):
        return refused or _onward(request)
    if not has_authenticator(request.user):
        return setup_page(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if passed := second_step(request, form.cleaned_data["code"]):
                if passed == RECOVERY:
                    left = recovery_codes_left(request.user)
                    messages.warning(request, f"You signed in with a recovery code ({left} left). If your phone "
                                     "is lost, set up a new authenticator (Two-step sign-in, top right).")  # fmt: skip
                return _onward(request)
            form.add_error("code", "That code is not right. Type the 6 digits your app shows now, or a recovery code.")
        except (SecondStepLocked, AuthenticatorUnreadable, CodesRefused) as refused:
            form.add_error(None, str(refused))
    return _page(request, "admin/two_step.html", form, title="Two-step sign-in", security_keys=keys_of(request.user),
                 keys_only=keys_only(request.user))  # fmt: skip


@never_cache
@csrf_protect
@require_POST
def key_options(request: HttpRequest) -> JsonResponse:
    """What the browser asks the user's security keys (``security_keys.js``)."""
    return answer_in_json(request, lambda: {"options": sign_in_options(request)})


@never_cache
@csrf_protect
@require_POST
def key_answer(request: HttpRequest) -> JsonResponse:
    """The key's answer: the page to go on to when it is right."""

    def through() -> dict[str, str]:
        sign_in_with_key(request, credential=request.POST.get("credential", ""))
        return {"next": _wanted(request)}

    return answer_in_json(request, through)


def answer_in_json(request: HttpRequest, answer: Callable[[], dict[str, Any]]) -> JsonResponse:
    """``answer()`` for a back-office user past their password, as JSON; why not, as ``{"error": …}``."""
    if not _back_office_user(request):
        return JsonResponse({"error": "Your session ended. Sign in again."}, status=403)
    try:
        return JsonResponse(answer())
    except (KeyRefused, SecondStepLocked, AuthenticatorUnreadable) as refused:
        return JsonResponse({"error": str(refused)}, status=400)


@never_cache
@csrf_protect
def setup_page(request: HttpRequest) -> HttpResponse:
    """Scan a QR code, type the app's first code: the recovery codes, shown once. A user with an authenticator
    gets here (a new phone) only through the second step with the old one."""
    if refused := _signed_in_first(request):
        return refused
    replacing = has_authenticator(request.user)
    if replacing and not session_passed(request):
        return code_page(request)
    try:
        refuse_late_setup(request)
    except SetupClosed as closed:
        return _page(request, "admin/two_step_closed.html", None, title="Two-step sign-in", closed=str(closed))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = setup_finish(request, form.cleaned_data["code"])
        except (SecondStepLocked, AuthenticatorUnreadable, SetupClosed) as locked:
            form.add_error(None, str(locked))
        else:
            if codes is not None:
                return _page(request, "admin/two_step_codes.html", None, title="Your recovery codes", codes=codes)
            issuer = settings.FACESITE_TWO_STEP_ISSUER
            form.add_error("code", f"That code is not right. Type the 6 digits the app shows for {issuer} now.")
    secret = setup_secret(request)
    qr = segno.make(setup_uri(request, secret), error="m").svg_inline(scale=4, light="#fff", title="QR code")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    # segno's SVG is markup it made itself from the address, which holds no user input but the user name,
    # which it encodes into the picture: safe to put in the page as it is.
    return _page(request, "admin/two_step_setup.html", form, title="Set up two-step sign-in", qr=mark_safe(qr),
                 secret=grouped, replacing=replacing,
                 recovery_codes_left=recovery_codes_left(request.user))  # fmt: skip


def _back_office_user(request: HttpRequest) -> bool:
    """Whether a back-office user is signed in (with their password, at least): who the code pages are for."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def _signed_in_first(request: HttpRequest) -> HttpResponse | None:
    if _back_office_user(request):
        return None
    return HttpResponseRedirect(f"{reverse('admin:login')}?{urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})}")


def _wanted(request: HttpRequest) -> str:
    """The page asked for before signing in, if it is on this site; else the back office's first page."""
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    here = {request.get_host()}
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts=here, require_https=request.is_secure())
    return wanted if safe and wanted else reverse("admin:index")


def _onward(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(_wanted(request))


def _page(request: HttpRequest, template: str, form: CodeForm | None, *, title: str, **context: Any) -> HttpResponse:
    return render(request, template, {
        **admin.site.each_context(request), "title": title, "form": form, "next": _wanted(request),
        "app_path": request.get_full_path(), "issuer": settings.FACESITE_TWO_STEP_ISSUER,
        "required": settings.FACESITE_TWO_STEP_REQUIRED, **context,
    })  # fmt: skip
