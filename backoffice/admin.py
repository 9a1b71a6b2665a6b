"""The admin site itself is ``backoffice.site.FacesiteAdminSite`` (see ``backoffice.apps``).

API tokens take the place of DRF's own admin for them, which listed every key and named each row by it
(on confirmation pages and in the admin's log): here a token is issued and revoked through
``backoffice.tokens`` (audited), and its key is shown once, when it is issued.

Users are Django's, with a column and an action for two-step sign-in (``backoffice.two_step``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.timezone import localtime
from rest_framework.authtoken import admin as drf_token_admin
from rest_framework.authtoken.models import TokenProxy

from backoffice.models import ApiToken, Authenticator
from backoffice.tokens import api_token_expires, api_token_issue, api_token_revoke
from backoffice.two_step import two_step_reset, with_keys_required
from recognition.audit import request_ip


class IssueTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user"]
        help_texts = {"user": "Issuing replaces the token this user has, if any: the old one stops working at once."}

    def validate_unique(self) -> None:
        """A user who has a token may be given a new one: issuing replaces it."""


admin.site.unregister(TokenProxy)
User = get_user_model()


@admin.register(ApiToken)
class ApiTokenAdmin(drf_token_admin.TokenAdmin):
    """DRF's token admin (its rows are found by user), without keys."""

    form = IssueTokenForm
    list_display = ["user", "created", "expires"]
    raw_id_fields = ["user"]

    @admin.display(description="expires")
    def expires(self, token: ApiToken) -> str:
        expires = api_token_expires(token)
        return f"{localtime(expires):%Y-%m-%d %H:%M}" if expires else "never"

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # a token has nothing to change; issue a new one instead

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        token, key = api_token_issue(user=obj.user, actor=request.user, client_ip=request_ip(request))
        obj.key, request._api_token_key = token.key, key  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        key = request._api_token_key  # type: ignore[attr-defined]
        self.message_user(
            request,
            f"API token for {obj.user.get_username()} (shown only now): {key} — send it as "
            f"'Authorization: Token {key}'.",
            messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:backoffice_apitoken_changelist"))

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        api_token_revoke(user=obj.user, actor=request.user, client_ip=request_ip(request))


admin.site.unregister(User)


class TwoStepFilter(admin.SimpleListFilter):
    """Who has set up two-step sign-in, and who has not yet (whose password alone would set it up)."""

    title = "two-step sign-in"
    parameter_name = "two_step"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Set up"), ("no", "Not set up")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(has_authenticator=self.value() == "yes")
        return queryset


@admin.register(User)
class FacesiteUserAdmin(UserAdmin):
    """Django's users, with whether each set up two-step sign-in, and its reset for a lost phone."""

    list_display = (
        "username", "email", "first_name", "last_name", "is_staff", "two_step", "security_keys", "keys_only",
    )  # fmt: skip
    list_filter = ("is_staff", "is_superuser", "is_active", "groups", TwoStepFilter)  # Django's, and one
    actions = ["two_step_reset"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        authenticators = Authenticator.objects.filter(user=OuterRef("pk"))
        users = super().get_queryset(request)
        return with_keys_required(users).annotate(
            has_authenticator=Exists(authenticators),
            key_count=Count("security_keys", distinct=True),
            keys_only=Exists(authenticators.filter(keys_only=True)),
        )

    @admin.display(description="Two-step sign-in", boolean=True, ordering="has_authenticator")
    def two_step(self, user: Any) -> bool:
        return user.has_authenticator

    @admin.display(description="Security keys", ordering="key_count")
    def security_keys(self, user: Any) -> int:
        return int(user.key_count)

    @admin.display(description="Keys only", ordering="keys_only")
    def keys_only(self, user: Any) -> str:
        """Whether codes are refused for the user: by their role (``FACESITE_KEYS_ONLY_ROLES``), or by choice."""
        if user.keys_required:
            return "by role" if user.key_count else "by role, no key yet"
        return "chosen" if user.keys_only else "–"

    @admin.action(description="Reset two-step sign-in (a lost phone, or days to set it up again)",
                  permissions=["change"])  # fmt: skip
    def two_step_reset(self, request: HttpRequest, users: QuerySet[Any]) -> None:
        had_one: dict[bool, list[str]] = {True: [], False: []}
        for user in users:
            had_one[two_step_reset(user=user, actor=request.user, client_ip=request_ip(request))].append(
                user.get_username()
            )
        days = settings.FACESITE_TWO_STEP_SETUP_DAYS
        within = f" within {days} day{pluralize(days)}" if days else ""
        if had_one[True]:
            self.message_user(request, f"Two-step sign-in reset for {', '.join(had_one[True])}: each sets up an "
                              f"authenticator again after their password{within}.", messages.SUCCESS)  # fmt: skip
        if had_one[False]:
            self.message_user(request, f"{', '.join(had_one[False])} had not set up two-step sign-in: they may set "
                              f"it up after their password{within}.", messages.SUCCESS)  # fmt: skip
