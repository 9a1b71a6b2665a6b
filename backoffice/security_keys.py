"""Security keys and passkeys for the back office's second step (WebAuthn, checked by py_webauthn): a key a user
added passes the step in place of a code from their authenticator app (``backoffice.two_step``).

* **Why.** A code can be typed into a look-alike site and replayed from there within its 30 seconds; a key signs
  for this site's domain only, so a phishing page gets nothing it can use.
* **Who.** A user adds keys once they are signed in with their authenticator app, which stays their way in
  without a key (and the recovery codes, as ever). An administrator's reset takes their keys away too.
* **The domain.** Keys are bound to ``FACESITE_WEBAUTHN_RP_ID``, by default the host the back office is opened by.
  Browsers offer keys only to sites on HTTPS (or ``localhost``) opened by a name, not an IP address.
* **Each answer once.** The browser signs a challenge the session holds, good for one answer; a key whose counter
  did not go up since its last answer (a copy of the key) is refused. Wrong answers count towards the same
  lockout as wrong codes.
* **Keys only.** A user with a key may choose to refuse codes (``keys_only_choose``): a code phished from them
  is then worth nothing. The roles in ``FACESITE_KEYS_ONLY_ROLES`` must. Their last key cannot be removed
  meanwhile; a lost key means an administrator's reset.
* **Audited**: adding and removing a key, choosing keys only and codes again; the sign-in record says it passed
  with a key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from backoffice.models import Authenticator, SecurityKey
from backoffice.notices import audit_and_tell
from backoffice.two_step import (
    SECURITY_KEY,
    codes_refused,
    count_wrong_answer,
    keys_required,
    let_through,
    refuse_while_locked,
)
from recognition.audit import request_ip
from recognition.models import AuditEvent

CHALLENGE = "facesite_security_key_challenge"  # the session's challenge for the key's next answer
ADD, SIGN_IN = "add", "sign in"  # what a challenge was made for
CHALLENGE_SECONDS = 5 * 60  # the browser gives up after one minute (the options' timeout); a slow touch is fine
# A second step after a password: touching the key is enough, as with a code; no PIN or fingerprint asked.
USER_VERIFICATION = UserVerificationRequirement.DISCOURAGED


class KeyRefused(Exception):
    """A key cannot be added or used: the message says why, for the page."""


def relying_party(request: HttpRequest) -> tuple[str, str]:
    """The domain keys are bound to here, and the origin (scheme, host and port) their answers must name."""
    host = request.get_host()
    domain = settings.FACESITE_WEBAUTHN_RP_ID or split_domain_port(host)[0].strip("[]")
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        return domain, f"{request.scheme}://{host}"
    raise KeyRefused(
        f"Security keys work only where the back office is opened by its name, not by an address ({host}). "
        "Open it by its name, or set FACESITE_WEBAUTHN_RP_ID."
    )


def add_options(request: HttpRequest) -> dict[str, Any]:
    """What the browser needs to make a key for ``request``'s user (parsed JSON), keeping its challenge in the
    session."""
    user: Any = request.user
    if not Authenticator.objects.filter(user=user).exists():
        raise KeyRefused("Set up an authenticator app first: it stays your way in when no key is at hand.")
    domain, _ = relying_party(request)
    options = generate_registration_options(
        rp_id=domain, rp_name=settings.FACESITE_TWO_STEP_ISSUER, user_id=_user_handle(user),
        user_name=user.get_username(), exclude_credentials=_descriptors(user), authenticator_selection=(
            AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.DISCOURAGED,
                                           user_verification=USER_VERIFICATION)),
    )  # fmt: skip
    _keep_challenge(request, ADD, options.challenge)
    return json.loads(options_to_json(options))  # type: ignore[no-any-return]


def key_add(request: HttpRequest, *, credential: str, name: str) -> SecurityKey:
    """Keep the key whose answer to ``add_options`` is ``credential`` (the browser's JSON) as ``name``."""
    user: Any = request.user
    domain, origin = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=_challenge(request, ADD), expected_rp_id=domain,
            expected_origin=origin, require_user_verification=False,
        )  # fmt: skip
    except WebAuthnException as exc:
        raise KeyRefused(f"The key's answer was refused: {exc}") from exc
    name = " ".join(name.split())[:64] or "Security key"
    try:
        with transaction.atomic():
            key = SecurityKey.objects.create(
                user=user, name=name, credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key, sign_count=verified.sign_count,
            )  # fmt: skip
            audit_and_tell(actor=user, action=AuditEvent.Action.SECURITY_KEY_ADDED, target=user,
                           client_ip=request_ip(request), key=name)  # fmt: skip
    except IntegrityError as exc:
        raise KeyRefused("That key is already added.") from exc
    return key


def key_remove(request: HttpRequest, key_id: int) -> str | None:
    """Remove one of ``request``'s user's keys; its name, or None when they have no such key. ``KeyRefused`` for
    the last key of a user who signs in with keys only."""
    user: Any = request.user
    with transaction.atomic():
        # The authenticator's row held, so that keys only is not chosen while the last key goes.
        authenticator = Authenticator.objects.select_for_update().filter(user=user).first()
        key = SecurityKey.objects.filter(user=user, pk=key_id).first()
        if key is None:
            return None
        last = not SecurityKey.objects.filter(user=user).exclude(pk=key.pk).exists()
        if last and codes_refused(user, authenticator):
            raise KeyRefused(f"“{key.name}” is your last key, and you sign in with keys only: add another key first.")
        key.delete()
        audit_and_tell(actor=user, action=AuditEvent.Action.SECURITY_KEY_REMOVED, target=user,
                       client_ip=request_ip(request), key=key.name)  # fmt: skip
    return key.name


def keys_only_choose(request: HttpRequest, *, keys_only: bool) -> bool:
    """Refuse codes from ``request``'s user's authenticator app and recovery codes from now on (``keys_only``),
    or accept them again; whether that changed anything. ``KeyRefused`` for keys only without a key. Sessions
    that passed with a code must then show a key (``backoffice.two_step.session_passed``)."""
    user: Any = request.user
    with transaction.atomic():
        authenticator = Authenticator.objects.select_for_update().filter(user=user).first()
        if authenticator is None:
            raise KeyRefused("Set up an authenticator app first, then add a key.")
        keys = SecurityKey.objects.filter(user=user).count()
        if keys_only and not keys:
            raise KeyRefused("Add a security key first: with keys only, it is your one way in.")
        if not keys_only and keys_required(user):
            raise KeyRefused("Your role signs in with security keys only: codes cannot be accepted again.")
        if authenticator.keys_only == keys_only:
            return False
        Authenticator.objects.filter(pk=authenticator.pk).update(keys_only=keys_only)
        action = AuditEvent.Action.KEYS_ONLY_ON if keys_only else AuditEvent.Action.KEYS_ONLY_OFF
        audit_and_tell(actor=user, action=action, target=user, client_ip=request_ip(request), keys=keys)
    return True


def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    """What the browser needs to ask ``request``'s user's keys for an answer (parsed JSON), keeping its
    challenge in the session."""
    refuse_while_locked(request)
    domain, _ = relying_party(request)
    allowed = _descriptors(request.user)
    if not allowed:
        raise KeyRefused("You have no security key here. Type a code from your authenticator app instead.")
    options = generate_authentication_options(rp_id=domain, allow_credentials=allowed,
                                              user_verification=USER_VERIFICATION)  # fmt: skip
    _keep_challenge(request, SIGN_IN, options.challenge)
    return json.loads(options_to_json(options))  # type: ignore[no-any-return]


def sign_in_with_key(request: HttpRequest, *, credential: str) -> SecurityKey:
    """Let ``request``'s session through the second step if ``credential`` (the browser's JSON) is one of the
    user's keys answering ``sign_in_options``; the key. ``KeyRefused`` when not, counted towards the lockout."""
    refuse_while_locked(request)
    user: Any = request.user
    domain, origin = relying_party(request)
    authenticator = Authenticator.objects.filter(user=user).first()
    try:
        challenge = _challenge(request, SIGN_IN)
        answer = parse_authentication_credential_json(credential)
        key = SecurityKey.objects.filter(user=user, credential_id=bytes_to_base64url(answer.raw_id)).first()
        if key is None or authenticator is None:
            raise KeyRefused("That key is not one of yours here.")
        verified = verify_authentication_response(
            credential=answer, expected_challenge=challenge, expected_rp_id=domain, expected_origin=origin,
            credential_public_key=bytes(key.public_key), credential_current_sign_count=0,  # compared below
        )  # fmt: skip
        if key.sign_count and verified.new_sign_count <= key.sign_count:
            _copy_refused(request, key, verified.new_sign_count)
        # Compare and set: of two answers with the same count, as a key and its copy would give, one gets in.
        if not SecurityKey.objects.filter(pk=key.pk, sign_count=key.sign_count).update(
            sign_count=verified.new_sign_count, last_used_at=timezone.now()
        ):
            raise KeyRefused("That key's answer was used already.")
    except KeyRefused:
        count_wrong_answer(request)
        raise
    except WebAuthnException as exc:
        count_wrong_answer(request)
        raise KeyRefused(f"The key's answer was refused: {exc}") from exc
    let_through(request, authenticator, second_step=SECURITY_KEY)
    return key


def keys_of(user: Any) -> list[SecurityKey]:
    return list(SecurityKey.objects.filter(user=user).order_by("added_at"))


def _descriptors(user: Any) -> list[PublicKeyCredentialDescriptor]:
    ids = SecurityKey.objects.filter(user=user).values_list("credential_id", flat=True)
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential_id)) for credential_id in ids]


def _copy_refused(request: HttpRequest, key: SecurityKey, count: int) -> NoReturn:
    """A key signed with a counter no higher than its last: a copy of it, or the key after its copy was used.
    Audited, as a sign that the key left its owner's hands."""
    user: Any = request.user
    audit_and_tell(actor=user, action=AuditEvent.Action.SECURITY_KEY_COPY, target=user, client_ip=request_ip(request),
                   key=key.name, counter=count, last_counter=key.sign_count)  # fmt: skip
    raise KeyRefused("That key's counter went back since it last signed you in: it may be a copy of your key. "
                     "Sign in with another key or a code, and tell an administrator.")  # fmt: skip


def _keep_challenge(request: HttpRequest, purpose: str, challenge: bytes) -> None:
    request.session[CHALLENGE] = {"for": purpose, "challenge": bytes_to_base64url(challenge), "at": time.time()}


def _challenge(request: HttpRequest, purpose: str) -> bytes:
    """The session's challenge for ``purpose``, taken: each is good for one answer, within ``CHALLENGE_SECONDS``."""
    kept = request.session.pop(CHALLENGE, None)
    if not kept or kept.get("for") != purpose:
        raise KeyRefused("The key was not asked for in this session, or its answer was already used. Try again.")
    if time.time() - kept["at"] > CHALLENGE_SECONDS:
        raise KeyRefused("The key's answer came too late. Try again.")
    return base64url_to_bytes(kept["challenge"])


def _user_handle(user: Any) -> bytes:
    """The id keys hold for ``user``: stable, and saying nothing about them (WebAuthn asks for no personal data)."""
    key = hashlib.sha256(b"facesite webauthn user" + settings.FACESITE_SECRETS_KEY.encode()).digest()
    return hmac.new(key, str(user.pk).encode(), hashlib.sha256).digest()
