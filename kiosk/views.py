"""The kiosk's pages: sign-in for the device, the full-screen check page, and the check it posts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kiosk.models import Kiosk
from kiosk.services import KioskPaused, kiosk_check
from recognition.api.errors import status_for
from recognition.audit import request_ip
from recognition.exceptions import FacesiteError
from recognition.services.liveness import MAX_FRAMES

SIGNED_IN_FOR = timedelta(days=365)  # a door screen stays signed in until an administrator changes its password


class KioskSignInForm(AuthenticationForm):
    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        kiosk = Kiosk.objects.filter(user=user).first()
        if kiosk is None or not kiosk.active:
            raise ValidationError("This account is not an active kiosk.", code="not_a_kiosk")


class KioskSignIn(LoginView):
    template_name = "kiosk/sign_in.html"
    authentication_form = KioskSignInForm
    redirect_authenticated_user = False

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        self.request.session.set_expiry(SIGNED_IN_FOR)
        return response

    def get_default_redirect_url(self) -> str:
        return "/kiosk/"


def _kiosk_of(request: HttpRequest) -> Kiosk | None:
    if not request.user.is_authenticated:
        return None
    return Kiosk.objects.filter(user=request.user, active=True).first()


def kiosk_page(request: HttpRequest) -> HttpResponse:
    kiosk = _kiosk_of(request)
    if kiosk is None:
        if request.user.is_authenticated:
            logout(request)  # someone else's session on a door screen: start again as the kiosk
        return redirect("kiosk:sign_in")
    return render(request, "kiosk/page.html", {"kiosk": kiosk, "frames": MAX_FRAMES // 2})


@require_POST
def kiosk_verify(request: HttpRequest) -> JsonResponse:
    kiosk = _kiosk_of(request)
    if kiosk is None:
        return JsonResponse({"error": "Sign in as a kiosk first.", "code": "not_signed_in"}, status=403)
    badge = request.POST.get("badge", "").strip()
    photo = request.FILES.get("photo")
    if not badge or photo is None:
        return JsonResponse({"error": "A badge and a photo are needed.", "code": "invalid"}, status=400)
    frames = [f.read() for f in request.FILES.getlist("frames")[:MAX_FRAMES]]
    try:
        answer = kiosk_check(kiosk=kiosk, badge=badge, photo=photo.read(), frames=frames,
                             client_ip=request_ip(request))  # fmt: skip
    except KioskPaused as exc:
        paused = JsonResponse({"error": exc.message, "code": exc.code}, status=429)
        paused["Retry-After"] = str(exc.retry_after)
        return paused
    except FacesiteError as exc:
        return JsonResponse({"error": exc.message, "code": exc.code}, status=status_for(exc))
    return JsonResponse(asdict(answer))
