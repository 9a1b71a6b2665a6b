"""The interactive API reference (Swagger UI), which needs a signed-in user as the schema does: a browser
that is not signed in is sent to the admin's sign-in page and back, rather than shown a 401 as JSON."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response


class SignInFirstSwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its settings in a script of their own (``?script``), not inline, as the site's Content
    Security Policy requires, and its page styles in a stylesheet (``backoffice/swagger_ui.html``)."""

    template_name = "backoffice/swagger_ui.html"

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, NotAuthenticated) and not self.request.headers.get("Authorization"):
            return redirect_to_login(self.request.get_full_path(), login_url=reverse("admin:login"))
        response: Response = super().handle_exception(exc)
        return response
