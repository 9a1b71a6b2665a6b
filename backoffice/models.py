"""The back office's own models: API tokens as the admin shows them, and what two-step sign-in holds: the
authenticator app, recovery codes and security keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from rest_framework.authtoken.models import TokenProxy


class ApiToken(TokenProxy):
    """DRF's token (its rows found by user, as DRF's own admin does), named by its user, not by its key (the
    key's hash, ``backoffice.tokens.stored_key``): a name shows up on confirmation pages and in the admin's
    log, where a key has no business."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user.get_username()}"


class Authenticator(models.Model):
    """A user's authenticator app for two-step sign-in (``backoffice.two_step``): the TOTP secret (RFC 6238)
    they scanned, encrypted as the other secrets are (``recognition.secrets``)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticator")
    secret_encrypted = models.TextField(editable=False)
    #: The last 30-second step whose code was accepted: each code signs in once, and never an older one.
    last_step = models.BigIntegerField(default=0, editable=False)
    set_up_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    #: The user chose security keys only: this app's codes and the recovery codes pass the second step no more
    #: (``backoffice.security_keys.keys_only_choose``). Kept here, with the rest of the second step, so that a
    #: reset, which takes the app away, ends it too.
    keys_only = models.BooleanField(default=False, editable=False)

    def __str__(self) -> str:
        return f"Authenticator of {self.user.get_username()}"


class SetupDeadline(models.Model):
    """Until when a user who has no authenticator may set one up with their password alone, where that is
    later than ``FACESITE_TWO_STEP_SETUP_DAYS`` after they joined: given by an administrator's reset."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="setup_deadline")
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"Two-step set-up deadline of {self.user.get_username()}"


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator (a lost phone); kept as its HMAC only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Recovery code of {self.user.get_username()}"


class SecurityKey(models.Model):
    """A security key or passkey that passes the second step in place of a code (WebAuthn,
    ``backoffice.security_keys``). What is kept is public: the credential's id and public key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_keys")
    name = models.CharField(max_length=64, help_text="What its owner called it, to tell their keys apart.")
    #: The credential's id as browsers give it (base64url): how an answer names the key it came from.
    credential_id = models.CharField(max_length=1400, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)  # COSE-encoded
    #: The key's signature counter, where it keeps one: an answer with no higher count is a cloned key's.
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    added_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Security key {self.name!r} of {self.user.get_username()}"
