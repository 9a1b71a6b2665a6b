"""Endpoints: created and changed with their write-only signing secret, tried with a test event, and audited."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from integrations.models import Delivery, Endpoint
from integrations.secrets import new_secret
from integrations.services.sending import Outcome, post_document
from integrations.xml import TEST_EVENT, endpoint_test_event
from recognition.audit import Actor, audit_record, authenticated_user
from recognition.exceptions import InvalidInput
from recognition.models import AuditEvent


class SecretChange(models.TextChoices):
    KEEP = "keep", "Keep the current secret"
    GENERATE = "generate", "Generate a new secret (shown once, after saving)"
    SET = "set", "Set the secret the receiver gave you"


#: How long the secret replaced may go on signing, for the receiver to take the new one: the admin's choices.
OLD_SECRET_SIGNS_FOR = {0: "No: the new secret alone, at once (the old one may have leaked)", 1: "1 hour",
                        24: "24 hours", 24 * 7: "7 days"}  # fmt: skip


def endpoint_save(
    *, endpoint: Endpoint, changed: Iterable[str], secret: SecretChange, given_secret: str = "", actor: Actor,
    client_ip: str | None = None, old_secret_signs_for: timedelta = timedelta(0),
) -> str | None:  # fmt: skip
    """Create or change an endpoint and record who did it. Returns the new secret when one was generated:
    the only time anyone sees it, since it is stored encrypted and never displayed. A secret replaced goes on
    signing beside the new one for ``old_secret_signs_for``, until the receiver has the new one."""
    created = endpoint._state.adding
    generated = None
    if secret == SecretChange.GENERATE:
        endpoint.secret_replace(generated := new_secret(), old_signs_for=old_secret_signs_for)
    elif secret == SecretChange.SET:
        endpoint.secret_replace(given_secret, old_signs_for=old_secret_signs_for)
    elif created:
        raise InvalidInput("A new endpoint needs a signing secret: generate one or set one.", field="secret")
    with transaction.atomic():
        endpoint.save()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.ENDPOINT_CREATE if created else AuditEvent.Action.ENDPOINT_UPDATE,
            target=endpoint,
            client_ip=client_ip,
            fields=sorted(changed),
            secret_changed=secret != SecretChange.KEEP,
            **({"old_secret_signs_until": endpoint.previous_secret_until.isoformat()}
               if secret != SecretChange.KEEP and endpoint.previous_secret_until else {}),
        )  # fmt: skip
    return generated


def endpoint_old_secret_end(*, endpoint: Endpoint, actor: Actor, client_ip: str | None = None) -> bool:
    """Stop the secret last replaced from signing, before its time is up (the receiver has the new one);
    whether it still signed."""
    with transaction.atomic():
        ended = Endpoint.objects.filter(pk=endpoint.pk, previous_secret_until__gt=timezone.now()).update(
            previous_secret_encrypted="", previous_secret_until=None
        )
        if ended:
            audit_record(actor=actor, action=AuditEvent.Action.ENDPOINT_UPDATE, target=endpoint, client_ip=client_ip,
                         fields=[], secret_changed=False, old_secret_ended=True)  # fmt: skip
    return bool(ended)


@dataclass(frozen=True)
class EndpointTried:
    """What came of a test event: accepted or not, the endpoint's answer, and how long it took."""

    accepted: bool
    outcome: Outcome
    seconds: float


def endpoint_test(*, endpoint: Endpoint, actor: Actor, client_ip: str | None = None) -> EndpointTried:
    """POST a signed test event (``endpoint.test``) to ``endpoint`` now, once, as a delivery would be sent,
    disabled or not, and record it: for an operator to see that the receiver is reached and checks the
    signature, before real events go there. Nothing is retried."""
    user = authenticated_user(actor)
    key = str(uuid.uuid4())
    body = endpoint_test_event(endpoint.name, key=key, requested_by=user.get_username() if user else "")
    started = time.monotonic()
    outcome = post_document(endpoint, event=TEST_EVENT, delivery_id=key, attempt=1, key=key, body=body)
    result = EndpointTried(outcome.status == Delivery.Status.DELIVERED, outcome, time.monotonic() - started)
    audit_record(actor=actor, action=AuditEvent.Action.ENDPOINT_TEST, target=endpoint, client_ip=client_ip,
                 accepted=result.accepted, status_code=outcome.status_code, error=outcome.error)  # fmt: skip
    return result


def endpoint_delete(*, endpoint: Endpoint, actor: Actor, client_ip: str | None = None) -> None:
    """Delete an endpoint (and its deliveries' records) and record who did it."""
    with transaction.atomic():
        audit_record(actor=actor, action=AuditEvent.Action.ENDPOINT_DELETE, target=endpoint, client_ip=client_ip,
                     name=endpoint.name, url=endpoint.url)  # fmt: skip
        endpoint.delete()
