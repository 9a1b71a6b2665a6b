"""Two-step sign-in for the back office: after the password, a code from an authenticator app (TOTP, RFC 6238).

* **Who.** With ``FACESITE_TWO_STEP_REQUIRED`` on (the default), every back-office (staff) user; a user who
  has none is sent to set one up before any page. Off, only those who set one up. Door kiosk accounts are
  not back-office users: their screen asks for no code.
* **What a session holds.** Once the code is right, the session holds a mark naming the authenticator
  (``session_passed``). The admin and the API's session sign-in check it on every request; setting up a new
  authenticator, or an administrator resetting it, ends what the old one let in.
* **Codes.** Each is good once (``Authenticator.last_step``), within a step either side of the server's clock.
  Ten recovery codes, shown once when the authenticator is set up, stand in for it once each; they are kept
  as their HMAC only. Wrong codes are counted, as wrong passwords are: ``FACESITE_LOGIN_FAILURES`` of them
  lock the user's second step for ``FACESITE_LOCKOUT_SECONDS``.
* **Keys only.** A user with security keys may refuse codes altogether (``Authenticator.keys_only``), and the
  roles in ``FACESITE_KEYS_ONLY_ROLES`` must: then a code, even a right one, passes nothing, and only a session
  that passed with a key is through. One whose role requires keys and who has none yet passes with a code, and
  is held at their two-step page until they add one (``key_needed``).
* **Audited**: setting one up, signing in with a recovery code, a code refused to a keys-only user, and a reset.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from backoffice.models import Authenticator, RecoveryCode, SecurityKey, SetupDeadline
from backoffice.notices import audit_and_tell
from backoffice.sign_ins import lockout_record, sign_in_record
from recognition.audit import Actor, request_ip
from recognition.lockouts import count_failure, lockout_key
from recognition.models import AuditEvent
from recognition.secrets import UnreadableSecret, seal, unseal

PURPOSE = b"facesite two-step secrets"  # the HKDF info: fixed, or stored secrets could not be read
PASSED = "facesite_two_step"  # the session's mark: which authenticator, set up when, let it in
PASSED_WITH = "facesite_two_step_with"  # how the session passed: a code, a key, setting one up
PENDING = "facesite_two_step_pending"  # the secret being set up, sealed, until its first code is right
SETUP_REFUSED = "facesite_two_step_setup_refused"  # this session was refused a late first set-up (audited once)
CODE_REFUSED = "facesite_two_step_code_refused"  # this session typed a code to a keys-only user (audited once)
RECOVERY_CODES = 10
AUTHENTICATOR, RECOVERY, SECURITY_KEY, SET_UP = "authenticator", "recovery code", "security key", "set up"
DRIFT = 1  # steps of 30 s either side of the server's clock: a phone's clock a little off still works


class AuthenticatorUnreadable(Exception):
    """The authenticator was set up under another ``FACESITE_SECRETS_KEY``."""

    def __init__(self) -> None:
        super().__init__(
            "Your authenticator cannot be checked here any more (the server's FACESITE_SECRETS_KEY changed since "
            "you set it up). Ask an administrator to reset your two-step sign-in."
        )


class SecondStepLocked(Exception):
    """Too many wrong codes or key answers for this user just now."""

    def __init__(self) -> None:
        minutes = max(1, settings.FACESITE_LOCKOUT_SECONDS // 60)
        super().__init__(f"Too many wrong codes or key answers. Try again in {minutes} minutes.")


class CodesRefused(Exception):
    """The user signs in with security keys only."""

    def __init__(self) -> None:
        super().__init__(
            "You sign in with security keys only: codes are not accepted. Use one of your keys. Lost them all? "
            "Ask an administrator to reset your two-step sign-in."
        )


class SetupClosed(Exception):
    """The user has no authenticator, and the days to set one up with their password alone are over."""

    def __init__(self, until: datetime) -> None:
        ended = date_format(timezone.localtime(until), "DATE_FORMAT")
        super().__init__(
            f"The time to set up two-step sign-in with your password alone ended on {ended}. Ask an administrator "
            "to reset your two-step sign-in; then set it up when you next sign in."
        )


def session_passed(request: HttpRequest) -> bool:
    """Whether the signed-in user of ``request`` is through: passed the second step in this session with the
    authenticator they have now (with a key, where they chose keys only), or needs none (no authenticator, and
    not a back-office user where one is required). Asked once a request: the admin asks on every check of its
    permission."""
    known: bool | None = getattr(request, "_two_step_passed", None)
    if known is None:
        user: Any = request.user
        authenticator = Authenticator.objects.filter(user=user).first() if user.is_authenticated else None
        passed = authenticator is not None and request.session.get(PASSED) == _mark(authenticator)
        if passed and authenticator is not None and codes_refused(user, authenticator):
            # A session through with a code before the user chose keys only must show a key now. Setting up
            # a new phone counts: a keys-only user gets to it through a key.
            passed = request.session.get(PASSED_WITH) in (SECURITY_KEY, SET_UP)
        known = passed or not _second_step_asked(user, has_one=authenticator is not None)
        request._two_step_passed = known  # type: ignore[attr-defined]
    return known


def has_authenticator(user: Any) -> bool:
    return Authenticator.objects.filter(user=user).exists()


def keys_required(user: Any) -> bool:
    """Whether ``user``'s role signs in with security keys only (``FACESITE_KEYS_ONLY_ROLES``). Asked of the
    signed-in user several times a request (the admin's every check of its permission): kept on the user."""
    known: bool | None = getattr(user, "_keys_required", None)
    if known is None:
        known = (
            bool(settings.FACESITE_KEYS_ONLY_ROLES)
            and user.is_staff
            and (with_keys_required(get_user_model().objects.filter(pk=user.pk)).filter(keys_required=True).exists())
        )
        user._keys_required = known
    return known


def codes_refused(user: Any, authenticator: Authenticator | None) -> bool:
    """Whether codes pass the second step no more for ``user``, whose authenticator is ``authenticator``: they
    chose keys only, or their role requires keys and they have one."""
    if authenticator is None:
        return False
    return authenticator.keys_only or (keys_required(user) and SecurityKey.objects.filter(user=user).exists())


def keys_only(user: Any) -> bool:
    """Whether ``user`` signs in with security keys only, by their choice or their role's."""
    return codes_refused(user, Authenticator.objects.filter(user=user).first())


def key_needed(request: HttpRequest) -> bool:
    """Whether ``request``'s user must add a security key before any page but their two-step page: their role
    signs in with keys only, and they have none yet. Asked once a request, as ``session_passed``."""
    known: bool | None = getattr(request, "_key_needed", None)
    if known is None:
        user: Any = request.user
        known = keys_required(user) and not SecurityKey.objects.filter(user=user).exists()
        request._key_needed = known  # type: ignore[attr-defined]
    return known


def setup_secret(request: HttpRequest) -> str:
    """The secret ``request``'s user is setting up (base32, as typed into an app), made on the first call and
    kept in the session, sealed, so the code they scanned stays the one checked."""
    pending = request.session.get(PENDING)
    if pending:
        with contextlib.suppress(UnreadableSecret):  # sealed under an earlier FACESITE_SECRETS_KEY: a new one
            return unseal(pending, purpose=PURPOSE)
    secret = pyotp.random_base32()
    request.session[PENDING] = seal(secret, purpose=PURPOSE)
    return secret


def setup_uri(request: HttpRequest, secret: str) -> str:
    """The ``otpauth://`` address of ``secret`` that authenticator apps read from a QR code."""
    name = request.user.get_username()
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=settings.FACESITE_TWO_STEP_ISSUER)


def setup_deadline(user: Any) -> datetime | None:
    """Until when ``user`` may set up an authenticator with their password alone: ``FACESITE_TWO_STEP_SETUP_DAYS``
    after they joined, or after an administrator's reset if later; None where there is no limit."""
    days = settings.FACESITE_TWO_STEP_SETUP_DAYS
    if not days:
        return None
    joined = user.date_joined + timedelta(days=days)
    given = SetupDeadline.objects.filter(user=user).values_list("until", flat=True).first()
    return max(joined, given) if given else joined


def refuse_late_setup(request: HttpRequest) -> None:
    """``SetupClosed`` where ``request``'s user would set up their first authenticator with their password
    alone and their days to do so are over. Setting up a new phone passes the old one first, and a session
    already through (where two-step sign-in is optional) is no first use: neither is refused. The first
    refusal in a session is audited: it may be someone else with an old password."""
    user: Any = request.user
    if has_authenticator(user) or session_passed(request):
        return
    deadline = setup_deadline(user)
    if deadline is None or timezone.now() <= deadline:
        return
    if not request.session.get(SETUP_REFUSED):
        request.session[SETUP_REFUSED] = True
        audit_and_tell(actor=user, action=AuditEvent.Action.TWO_STEP_SETUP_REFUSED, target=user,
                       client_ip=request_ip(request), deadline=deadline.isoformat())  # fmt: skip
    raise SetupClosed(deadline)


def setup_finish(request: HttpRequest, code: str) -> list[str] | None:
    """Make the secret being set up the user's authenticator if ``code`` is its current code, replacing any
    earlier one, with new recovery codes; those codes (to show once), or None when the code is wrong.
    ``SetupClosed`` where the days to set one up are over."""
    refuse_while_locked(request)
    refuse_late_setup(request)
    if not request.session.get(PENDING):
        return None
    secret = setup_secret(request)
    step = _matching_step(secret, _typed(code), after=0)
    if step is None:
        count_wrong_answer(request)
        return None
    user: Any = request.user
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        keys_only = Authenticator.objects.filter(user=user, keys_only=True).exists()  # a new phone keeps the choice
        Authenticator.objects.filter(user=user).delete()  # a new phone: the old one lets no one in now
        authenticator = Authenticator.objects.create(
            user=user,
            secret_encrypted=seal(secret, purpose=PURPOSE),
            last_step=step,
            last_used_at=timezone.now(),
            keys_only=keys_only,
        )
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_hashed(c)) for c in codes)
        audit_and_tell(actor=user, action=AuditEvent.Action.TWO_STEP_SET_UP, target=user, client_ip=request_ip(request))
    del request.session[PENDING]
    let_through(request, authenticator, second_step=SET_UP)
    return codes


def second_step(request: HttpRequest, code: str) -> str | None:
    """Let ``request``'s session through if ``code`` is the authenticator's current code or an unused
    recovery code; which it was (``AUTHENTICATOR``, ``RECOVERY``), None when neither. ``SecondStepLocked``
    after too many wrong codes; ``CodesRefused`` where the user chose security keys only."""
    refuse_while_locked(request)
    user: Any = request.user
    typed = _typed(code)
    refuse_codes_if_keys_only(request, typed)
    with transaction.atomic():
        authenticator = Authenticator.objects.select_for_update().filter(user=user).first()
        if authenticator is None:
            return None
        step = _matching_step(_secret(authenticator), typed, after=authenticator.last_step)
        now = timezone.now()
        # Each a compare and set, so that of two requests with the same code in the same instant one gets in,
        # on SQLite too, which has no row locks.
        this = Authenticator.objects.filter(pk=authenticator.pk)
        if step is not None and this.filter(last_step__lt=step).update(last_step=step, last_used_at=now):
            passed = AUTHENTICATOR
        elif RecoveryCode.objects.filter(user=user, code_hash=_hashed(typed), used_at=None).update(used_at=now):
            passed = RECOVERY
            this.update(last_used_at=now)
            audit_and_tell(actor=user, action=AuditEvent.Action.TWO_STEP_RECOVERY, target=user,
                           client_ip=request_ip(request), recovery_codes_left=recovery_codes_left(user))  # fmt: skip
        else:
            count_wrong_answer(request)
            return None
    let_through(request, authenticator, second_step=passed)
    return passed


def refuse_codes_if_keys_only(request: HttpRequest, typed: str) -> None:
    """``CodesRefused`` where ``request``'s user chose security keys only, the code counted as a wrong answer,
    right or not. Someone who knows their password typed it: the first such code in a session is audited, with
    whether it was right (a phished or stolen code), and the user told."""
    user: Any = request.user
    authenticator = Authenticator.objects.filter(user=user).first()
    if authenticator is None or not codes_refused(user, authenticator):
        return
    count_wrong_answer(request)
    if not request.session.get(CODE_REFUSED):
        request.session[CODE_REFUSED] = True
        right = _matching_step(_secret(authenticator), typed, after=authenticator.last_step) is not None
        right = right or RecoveryCode.objects.filter(user=user, code_hash=_hashed(typed), used_at=None).exists()
        audit_and_tell(actor=user, action=AuditEvent.Action.KEYS_ONLY_CODE, target=user,
                       client_ip=request_ip(request), right_code=right)  # fmt: skip
    raise CodesRefused


def users_without_authenticator() -> int:
    """How many active back-office users have set up no authenticator: their password alone would set one up."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    return users.exclude(pk__in=Authenticator.objects.values("user_id")).count()


def users_without_required_key() -> int:
    """How many active back-office users of the roles that sign in with keys only have no key yet: the back
    office shows them only their two-step page."""
    users = with_keys_required(get_user_model().objects.filter(is_active=True)).filter(keys_required=True)
    return users.exclude(pk__in=SecurityKey.objects.values("user_id")).count()


def with_keys_required(users: QuerySet[Any]) -> QuerySet[Any]:
    """``users``, each with ``keys_required``: whether their role signs in with keys only (``keys_required`` for
    one user), in the same query."""
    roles = settings.FACESITE_KEYS_ONLY_ROLES
    if not roles:
        return users.annotate(keys_required=Value(False))
    in_role = Exists(get_user_model().groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=roles))
    required = Q(in_role) | Q(is_superuser=True) if "superuser" in roles else Q(in_role)
    return users.annotate(keys_required=ExpressionWrapper(Q(is_staff=True) & required, output_field=BooleanField()))


def recovery_codes_left(user: Any) -> int:
    return RecoveryCode.objects.filter(user=user, used_at=None).count()


def two_step_reset(*, user: Any, actor: Actor, client_ip: str | None = None) -> bool:
    """Take away ``user``'s authenticator, recovery codes and security keys (a lost phone): their sessions must
    pass the second step again, with a new authenticator set up after their password, which they may do for
    ``FACESITE_TWO_STEP_SETUP_DAYS`` from now (for one who never set one up, the reset only gives them these
    days again). Whether they had one."""
    days = settings.FACESITE_TWO_STEP_SETUP_DAYS
    with transaction.atomic():
        removed, _ = Authenticator.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        SecurityKey.objects.filter(user=user).delete()
        until = timezone.now() + timedelta(days=days) if days else None
        if until is not None:
            SetupDeadline.objects.update_or_create(user=user, defaults={"until": until})
        audit_and_tell(actor=actor, action=AuditEvent.Action.TWO_STEP_RESET, target=user, client_ip=client_ip,
                       user=user.get_username(), had_authenticator=bool(removed),
                       setup_until=until.isoformat() if until else None)  # fmt: skip
    return bool(removed)


def _secret(authenticator: Authenticator) -> str:
    try:
        return unseal(authenticator.secret_encrypted, purpose=PURPOSE)
    except UnreadableSecret as exc:
        raise AuthenticatorUnreadable from exc


def _mark(authenticator: Authenticator) -> str:
    return f"{authenticator.pk}:{authenticator.set_up_at.isoformat()}"


def let_through(request: HttpRequest, authenticator: Authenticator, *, second_step: str) -> None:
    """Mark ``request``'s session as through the second step (passed with ``second_step``) for as long as the
    user has ``authenticator``."""
    sign_in_record(user=request.user, request=request, second_step=second_step)
    request.session.cycle_key()  # a new session key for the session that now holds more
    request.session[PASSED] = _mark(authenticator)
    request.session[PASSED_WITH] = second_step
    request._two_step_passed = True  # type: ignore[attr-defined]
    cache.delete(_failures(request.user))


def _matching_step(secret: str, code: str, *, after: int) -> int | None:
    """The step, later than ``after``, whose code ``code`` is, within ``DRIFT`` steps of now."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(timezone.now())
    for step in range(now - DRIFT, now + DRIFT + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _typed(code: str) -> str:
    """A code as typed, without the spaces and dashes people put in, in lower case (recovery codes)."""
    return "".join(code.split()).replace("-", "").lower()


def _new_recovery_code() -> str:
    """Ten characters a person can copy without mistakes (no 0/o, 1/l), shown as two groups of five."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    code = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


def _hashed(code: str) -> str:
    """The code's HMAC-SHA256 under ``FACESITE_SECRETS_KEY``: a database dump alone cannot be searched for it."""
    key = hashlib.sha256(PURPOSE + settings.FACESITE_SECRETS_KEY.encode()).digest()
    return hmac.new(key, code.replace("-", "").encode(), hashlib.sha256).hexdigest()


def _failures(user: Any) -> str:
    return lockout_key("two_step", str(user.pk))


def refuse_while_locked(request: HttpRequest) -> None:
    """``SecondStepLocked`` after ``FACESITE_LOGIN_FAILURES`` wrong answers, until the lockout ends."""
    if int(cache.get(_failures(request.user), 0)) >= settings.FACESITE_LOGIN_FAILURES:
        raise SecondStepLocked


def count_wrong_answer(request: HttpRequest) -> None:
    """Count a wrong code or key answer towards the lockout; the one that starts it is audited."""
    user: Any = request.user
    if count_failure(_failures(user)) == settings.FACESITE_LOGIN_FAILURES:
        lockout_record(actor=user, username=user.get_username(), request=request, step="second step")


@receiver(user_logged_in, dispatch_uid="backoffice.two_step.password_accepted")
def _password_accepted(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A sign-in that asks no second step is complete with the password; one that does, with the code."""
    if not _second_step_asked(user, has_one=has_authenticator(user)):
        sign_in_record(user=user, request=request, second_step="none")


def _second_step_asked(user: Any, *, has_one: bool) -> bool:
    """Whether ``user`` gives a code after the password: they set up an authenticator (``has_one``), or they are
    a back-office user where it is required, or of a role that signs in with keys only."""
    return has_one or (user.is_staff and (settings.FACESITE_TWO_STEP_REQUIRED or keys_required(user)))
