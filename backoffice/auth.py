"""Signing in, against guessing: failed attempts are counted in the shared cache and lock out for a while.

* The admin's sign-in: after ``FACESITE_LOGIN_FAILURES`` failures for one user name from one address,
  that pair is refused for ``FACESITE_LOCKOUT_SECONDS``, with a message saying so.
* The second step of two-step sign-in (``backoffice.two_step``): after ``FACESITE_LOGIN_FAILURES`` wrong codes
  for one user, from anywhere, their second step is refused for ``FACESITE_LOCKOUT_SECONDS``.
* API tokens: past ``FACESITE_TOKEN_FAILURES`` unknown tokens from one address, every further unknown
  token from it gets 429 for the same time (a valid token still works: it is no guess); and a token
  stops working ``FACESITE_TOKEN_MAX_AGE`` seconds after it was made. Keys are looked up by their hash
  (``backoffice.tokens.stored_key``): the database holds no key.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.request import Request

from backoffice.sign_ins import lockout_record
from backoffice.tokens import api_token_expires, stored_key
from backoffice.two_step import key_needed, session_passed
from recognition.audit import API_TOKEN, acting_with_for_request, request_ip
from recognition.lockouts import count_failure, guessing, lockout_key


def _login_key(request: HttpRequest | None, username: str) -> str:
    return lockout_key("login", (username or "").casefold(), request_ip(request) or "-")


def login_locked(request: HttpRequest | None, username: str) -> bool:
    return int(cache.get(_login_key(request, username), 0)) >= settings.FACESITE_LOGIN_FAILURES


@receiver(user_login_failed, dispatch_uid="backoffice.login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = credentials.get("username", "")
    if count_failure(_login_key(request, username)) == settings.FACESITE_LOGIN_FAILURES:
        lockout_record(actor=None, username=username, request=request, step="password")


@receiver(user_logged_in, dispatch_uid="backoffice.logged_in")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    cache.delete(_login_key(request, user.get_username()))


class LockoutModelBackend(ModelBackend):
    """Django's user backend, refusing a user name and address that failed too often just now; a user's
    permissions are read in one statement where Django's asks two (their own, then their groups'), as every
    API request checks one."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:  # fmt: skip
        if username and login_locked(request, username):
            return None  # not even the right password gets in until the lockout ends
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):  # where Django's backend keeps them for the user's lifetime
            if user_obj.is_superuser:
                pairs = Permission.objects.values_list("content_type__app_label", "codename").order_by()
            else:
                with connection.cursor() as cursor:
                    cursor.execute(_held_permissions_sql(), [user_obj.pk, user_obj.pk])
                    pairs = cursor.fetchall()
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in pairs}
        return user_obj._perm_cache


@functools.cache
def _held_permissions_sql() -> str:
    """The app label and code name of each permission a user holds, given directly or through a group; the
    user's id is its two parameters. Written once per process rather than through the ORM, which compiled
    the same query again on every API request: 4.6 ms of a slow core's time against 0.6 (a 2-core AMD
    Zen 1, PostgreSQL). The user model can be swapped, so its tables come from its fields."""
    user = get_user_model()._meta
    own, groups = user.get_field("user_permissions"), user.get_field("groups")
    return (
        "SELECT ct.app_label, p.codename FROM auth_permission p "
        "JOIN django_content_type ct ON ct.id = p.content_type_id WHERE p.id IN ("
        f"SELECT {own.m2m_reverse_name()} FROM {own.m2m_db_table()} WHERE {own.m2m_column_name()} = %s "
        f"UNION SELECT g.permission_id FROM auth_group_permissions g JOIN {groups.m2m_db_table()} m "
        f"ON m.{groups.m2m_reverse_name()} = g.group_id WHERE m.{groups.m2m_column_name()} = %s)"
    )


class LockoutAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in form, saying plainly when a lockout is the reason."""

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        if username and login_locked(self.request, username):
            minutes = max(1, settings.FACESITE_LOCKOUT_SECONDS // 60)
            raise ValidationError(
                f"Too many failed sign-ins for this user from here. Try again in {minutes} minutes.", code="locked"
            )
        return super().clean()


class TwoStepSessionAuthentication(SessionAuthentication):
    """DRF's session sign-in (the browsable API, the API docs' "Try it out"), for sessions through the
    second step only: a password alone opens no more of the API than of the admin."""

    def authenticate(self, request: Request) -> Any:
        found = super().authenticate(request)
        if found and not session_passed(request._request):
            raise NotAuthenticated("This session has not passed two-step sign-in: finish signing in at /admin/.")
        if found and key_needed(request._request):
            raise NotAuthenticated("Your role signs in with security keys only: add one at /admin/ first.")
        return found


class TwoStepSessionScheme(SessionScheme):
    """The API schema's cookie sign-in (``cookieAuth``), which the session sign-in above still is."""

    target_class = "backoffice.auth.TwoStepSessionAuthentication"


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, with tokens that expire and a limit on guessing them."""

    def authenticate(self, request: Request) -> Any:
        self._ip = request_ip(request._request)
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> Any:
        try:
            user, token = super().authenticate_credentials(stored_key(key))
        except AuthenticationFailed:
            if guessing("token", self._ip):
                raise Throttled(
                    wait=settings.FACESITE_LOCKOUT_SECONDS, detail="Too many unknown tokens from here."
                ) from None
            raise
        expires = api_token_expires(token)
        if expires and expires < timezone.now():
            raise AuthenticationFailed(f"This token expired {expires:%Y-%m-%d}; ask for a new one.")
        # Told apart from an admin session on the trail (a token is a key a user may have handed to a script).
        acting_with_for_request(API_TOKEN)
        return user, token
