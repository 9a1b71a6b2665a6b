"""The audit trail as sentences people read: "alice verified badge B-1: match 91", with the object named and
linked, for the dashboard and the audit trail's list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.template.defaultfilters import pluralize
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recognition.models import AuditEvent, Collection, Face, Image, Person, Verification
from recognition.services import retention


@dataclass(frozen=True)
class Kind:
    """A kind of object the trail names: its model, how to name one (with the ``related`` rows that takes,
    fetched with it), and the admin page that shows it."""

    model: Any
    name_of: Callable[[Any], str]
    route: str
    related: tuple[str, ...] = ()


NAMED: dict[str, Kind] = {
    "image": Kind(Image, str, "admin:recognition_image_change"),
    "person": Kind(Person, str, "admin:recognition_person_change"),
    "face": Kind(Face, lambda f: f"a face in {f.image}", "admin:recognition_faceforreview_change", ("image",)),
    "verification": Kind(Verification, lambda v: f"badge {v.external_id}", "admin:recognition_verification_change"),
    "collection": Kind(Collection, str, "admin:recognition_collection_change"),
    "user": Kind(get_user_model(), lambda u: u.get_username(), "admin:auth_user_change"),
}
VERBS = {
    AuditEvent.Action.IMAGE_UPLOAD: "uploaded",
    AuditEvent.Action.IMAGE_VIEW: "viewed",
    AuditEvent.Action.IMAGE_THUMBNAIL: "looked at the thumbnail of",
    AuditEvent.Action.IMAGE_DOWNLOAD: "downloaded",
    AuditEvent.Action.IMAGE_REANALYSE: "re-ran the analysis of",
    AuditEvent.Action.IMAGE_DELETE: "deleted",
    AuditEvent.Action.PERSON_CREATE: "created",
    AuditEvent.Action.PERSON_VIEW: "viewed",
    AuditEvent.Action.PERSON_UPDATE: "changed",
    AuditEvent.Action.PERSON_ENROL: "enrolled",
    AuditEvent.Action.PERSON_ENROL_REFUSED: "had a reference photo refused for",
    AuditEvent.Action.PERSON_ERASE: "erased a person",
    AuditEvent.Action.PERSON_EXPORT: "exported the data of",
    AuditEvent.Action.PERSON_EXPORT_REQUEST: "asked for an export of the data of",
    AuditEvent.Action.PERSON_EXPORT_DOWNLOAD: "downloaded the export of the data of",
    AuditEvent.Action.FACE_VIEW: "looked at",
    AuditEvent.Action.FACE_CROP: "looked at",
    AuditEvent.Action.FACE_DELETE: "removed the reference face",
    AuditEvent.Action.FACE_FLAG: "sent to review",
    AuditEvent.Action.FACE_CONFIRM: "confirmed",
    AuditEvent.Action.FACE_REASSIGN: "reassigned",
    AuditEvent.Action.FACE_REJECT: "rejected the match of",
    AuditEvent.Action.API_TOKEN_ISSUE: "issued an API token to",
    AuditEvent.Action.API_TOKEN_REVOKE: "revoked the API token of",
    AuditEvent.Action.TWO_STEP_SET_UP: "set up two-step sign-in for",
    AuditEvent.Action.TWO_STEP_RECOVERY: "used a recovery code to sign in as",
    AuditEvent.Action.TWO_STEP_RESET: "reset the two-step sign-in of",
    AuditEvent.Action.TWO_STEP_SETUP_REFUSED: "was refused a late first set-up of two-step sign-in as",
    AuditEvent.Action.SECURITY_KEY_ADDED: "added a security key for",
    AuditEvent.Action.SECURITY_KEY_REMOVED: "removed a security key of",
    AuditEvent.Action.SECURITY_KEY_COPY: "offered what may be a copy of the security key of",
    AuditEvent.Action.KEYS_ONLY_ON: "set security keys only for the sign-in of",
    AuditEvent.Action.KEYS_ONLY_OFF: "let codes sign in again as",
    AuditEvent.Action.KEYS_ONLY_CODE: "had a code refused (keys only) signing in as",
    AuditEvent.Action.VIDEO_UPLOAD: "uploaded",
    AuditEvent.Action.VIDEO_VIEW: "viewed",
    AuditEvent.Action.CAMERA_VIEW: "looked at the sightings of",
    AuditEvent.Action.ENDPOINT_CREATE: "created the endpoint",
    AuditEvent.Action.ENDPOINT_UPDATE: "changed the endpoint",
    AuditEvent.Action.ENDPOINT_TEST: "sent a test event to",
    AuditEvent.Action.DELIVERY_VIEW: "viewed",
    AuditEvent.Action.DELIVERY_RESEND: "resent",
}


def name_objects(object_type: str, kind: Kind) -> None:
    """Name another app's objects in the trail's sentences (``object_type``: their model's name): the videos and
    integrations admins register theirs."""
    NAMED[object_type] = kind


@dataclass(frozen=True)
class Named:
    name: str
    url: str | None


def sentences(events: Iterable[AuditEvent]) -> dict[int, SafeString]:
    """Each event as a sentence, by event id; the objects they name are looked up once per kind."""
    events = list(events)
    named = _objects(events)
    return {event.pk: _with_credential(event, _sentence(event, named.get((event.object_type, event.object_id))))
            for event in events}  # fmt: skip


def _with_credential(event: AuditEvent, sentence: SafeString) -> SafeString:
    credential = (event.details or {}).get("credential")
    return format_html("{} (with {})", sentence, credential) if credential else sentence


def _objects(events: list[AuditEvent]) -> dict[tuple[str, str], Named]:
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.object_type in NAMED and event.object_id:
            wanted[event.object_type].add(event.object_id)
    found: dict[tuple[str, str], Named] = {}
    for object_type, ids in wanted.items():
        kind = NAMED[object_type]
        for obj in kind.model.objects.filter(pk__in=ids).select_related(*kind.related):
            try:
                url: str | None = reverse(kind.route, args=[obj.pk])
            except NoReverseMatch:
                url = None
            found[(object_type, str(obj.pk))] = Named(name=str(kind.name_of(obj)), url=url)
    return found


def _sentence(event: AuditEvent, named: Named | None) -> SafeString:
    actor = event.actor_name or "Facesite"
    details = event.details or {}
    if event.action == AuditEvent.Action.PERSON_VERIFY:
        similarity = details.get("similarity")
        score = f" {similarity:.0f}" if isinstance(similarity, int | float) else ""
        return _with_link(
            f"{actor} verified badge {details.get('external_id', '?')}: {details.get('outcome', '?')}{score}", named
        )
    if event.action in (AuditEvent.Action.FACES_SEARCH, AuditEvent.Action.FACES_COMPARE):
        return format_html("{} {}", actor, event.get_action_display().lower())
    if event.action == AuditEvent.Action.USER_SIGN_IN:
        how = {"none": "", "authenticator": " with their authenticator", "recovery code": " with a recovery code",
               "security key": " with a security key", "set up": ", setting up two-step sign-in",
               }.get(details.get("second_step", ""), "")  # fmt: skip
        return format_html("{} signed in{}", actor, how)
    if event.action == AuditEvent.Action.USER_LOCKED_OUT:
        return format_html("Sign-in as {} locked for {} minutes after failed attempts ({})", details.get("username"),
                           details.get("minutes"), details.get("step"))  # fmt: skip
    if event.action == AuditEvent.Action.RETENTION_PURGE:
        removed = ", ".join(
            f"{retention.labels().get(part, part)} {n}" for part, n in details.get("removed", {}).items() if n
        )
        return format_html("{} purged what outlived its retention limit: {}", actor, removed or "nothing")
    if event.action == AuditEvent.Action.STORAGE_STRAYS_DELETE:
        deleted = sum(details.get("deleted", {}).values())
        return format_html("{} deleted {} stray file{} from storage", actor, deleted, pluralize(deleted))
    verb = VERBS.get(AuditEvent.Action(event.action)) if event.action in AuditEvent.Action.values else None
    times = f" ({event.repeats} times)" if event.repeats > 1 else ""
    if verb and named:
        return _with_link(f"{actor} {verb} ", named, after=times)
    what = named.name if named else (f"{event.object_type} {event.object_id[:8]}" if event.object_id else "")
    return format_html("{}: {} {}{}", actor, event.get_action_display().lower(), what, times)


def _with_link(text: str, named: Named | None, *, after: str = "") -> SafeString:
    if named is None:
        return format_html("{}{}", text, after)
    if text.endswith(" "):
        if named.url:
            return format_html('{}<a href="{}">{}</a>{}', text, named.url, named.name, after)
        return format_html("{}{}{}", text, named.name, after)
    return format_html('<a href="{}">{}</a>', named.url, text) if named.url else format_html("{}", text)
