"""The watch list: alerts when a watched person is identified, or an unknown face appears in a watched
collection. Each alert is a row (``WatchAlert``), an e-mail to ``FACESITE_WATCH_EMAILS`` sent by a task,
and a ``person.watched`` event to the endpoints that subscribe to it (integrations reads the rows).

The same person (or unknown faces) in the same collection raises one alert per
``FACESITE_WATCH_REPEAT_SECONDS``: someone standing in front of a camera is one alert, not one a frame.
"""

from __future__ import annotations

from datetime import timedelta
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from recognition.models import Face, Image, WatchAlert
from recognition.services import thumbnails
from recognition.services.queue import DELIVERIES, enqueue_after_commit

SEND_WATCH_ALERT = "recognition.tasks.send_watch_alert"


class RelatedParts(EmailMultiAlternatives):
    """Text, HTML and the images the HTML shows (``cid:``), as mail readers expect them together."""

    mixed_subtype = "related"


def watch_alerts_record(*, image: Image, faces: list[Face]) -> list[WatchAlert]:
    """Alerts for the ``faces`` just found in ``image``; call in the transaction that stores them. Each
    alert's e-mail is queued once that commits. The faces come with their people, as ``results.face_row``
    builds them; the database is asked nothing unless a watched person was identified or the collection
    is watched."""
    wanted = [(WatchAlert.Kind.PERSON, face) for face in faces if face.person is not None and face.person.watched]
    if image.collection.watched:
        wanted += [(WatchAlert.Kind.UNKNOWN, face) for face in faces if face.person_id is None][:1]  # one per image
    since = timezone.now() - timedelta(seconds=settings.FACESITE_WATCH_REPEAT_SECONDS)
    alerts = []
    for kind, face in wanted:
        recent = WatchAlert.objects.filter(kind=kind, collection=image.collection, person=face.person_id,
                                           created_at__gte=since)  # fmt: skip
        if recent.exists():
            continue
        alert = WatchAlert.objects.create(kind=kind, image=image, face=face, person_id=face.person_id,
                                          collection=image.collection)  # fmt: skip
        alerts.append(alert)
        if settings.FACESITE_WATCH_EMAILS:
            enqueue_after_commit(task=SEND_WATCH_ALERT, args=[str(alert.pk)], queue=DELIVERIES)
    return alerts


def watch_alert_email(*, alert_id: str) -> bool:
    """E-mail one alert, with the face's crop and a link to the image in the back office; False when it
    is gone (erased) or was e-mailed already."""
    alert = WatchAlert.objects.select_related("image", "face", "person", "collection").filter(pk=alert_id).first()
    if alert is None or alert.emailed_at is not None:
        return False
    link = settings.FACESITE_PUBLIC_URL.rstrip("/") + reverse("admin:recognition_image_change", args=[alert.image_id])
    crop = thumbnails.face_crop_if_stored(alert.face) if alert.face else None  # else e-mailed without it
    context = {"alert": alert, "link": link, "has_crop": bool(crop)}
    subject = (
        f"Facesite: {alert.person.name} seen in {alert.collection.name}"
        if alert.person
        else f"Facesite: an unknown face in {alert.collection.name}"
    )
    message = RelatedParts(
        subject=subject,
        body=render_to_string("recognition/email/watch_alert.txt", context),
        to=settings.FACESITE_WATCH_EMAILS,
    )
    message.attach_alternative(render_to_string("recognition/email/watch_alert.html", context), "text/html")
    if crop:
        picture = MIMEImage(crop, "jpeg")
        picture.add_header("Content-ID", "<face>")
        picture.add_header("Content-Disposition", "inline", filename="face.jpg")
        message.attach(picture)
    message.send()
    WatchAlert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    return True
