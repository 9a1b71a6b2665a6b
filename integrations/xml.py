"""Event documents in XML, built with lxml from the stored results (see schema/facesite-event-1.xsd)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from django.utils import timezone
from lxml import etree

from recognition.models import Image, Verification
from recognition.services.stored import StoredResults
from videos.labels import video_label_segments
from videos.models import Sighting, Video

NAMESPACE = "urn:facesite:event:1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "facesite-event-1.xsd"
_NS = f"{{{NAMESPACE}}}"


def image_event(image: Image, results: StoredResults, *, event: str, key: str) -> bytes:
    """The document for an image event (``image.analysed``, ``person.identified``, ``person.watched``)."""
    root = _root(event, key)
    node = _sub(
        root,
        "image",
        id=str(image.pk),
        sha256=image.sha256,
        width=image.width,
        height=image.height,
        contentType=image.content_type,
        source=image.source,
        collection=image.collection.name,
        createdAt=_time(image.created_at),
        analysedAt=_time(image.analysed_at),
        analysisNumber=max(image.attempts, 1),
    )
    _sub(node, "engine", name=image.engine, modelVersion=image.model_version)

    labels = _sub(node, "labels")
    for label in results.labels:
        element = _sub(labels, "label", name=label.name, confidence=_score(label.confidence))
        for parent in label.parents:
            _sub(element, "parent", name=parent)
        for category in label.categories:
            _sub(element, "category", name=category)
        for alias in label.aliases:
            _sub(element, "alias", name=alias)
        for instance in label.instances:
            box = instance["BoundingBox"]
            _box(_sub(element, "instance", confidence=_score(instance["Confidence"])), box)

    faces = _sub(node, "faces")
    for face in results.faces:
        element = _sub(
            faces, "face", id=str(face.pk), confidence=_score(face.confidence), reviewState=face.review_state
        )
        _box(element, face.bounding_box.as_dict())
        if face.landmarks:
            landmarks = _sub(element, "landmarks")
            for lm in face.landmarks:
                _sub(landmarks, "landmark", type=lm["Type"], x=_ratio(lm["X"]), y=_ratio(lm["Y"]))
        if face.person is not None:
            _sub(
                element,
                "person",
                id=str(face.person.pk),
                externalId=face.person.external_id,
                name=face.person.name,
                similarity=_score(face.similarity if face.similarity is not None else 100.0),
            )

    texts = _sub(node, "textDetections")
    for text in results.text:
        element = _sub(
            texts,
            "text",
            id=text.detection_id,
            parentId=text.parent_id,
            type=text.type,
            confidence=_score(text.confidence),
        )
        _sub(element, "content").text = xml_text(text.text)
        _box(element, text.geometry.get("BoundingBox", {}))

    moderation = _sub(node, "moderationLabels")
    for flagged in results.moderation:
        _sub(
            moderation,
            "moderationLabel",
            name=flagged.name,
            parentName=flagged.parent_name or None,
            taxonomyLevel=flagged.taxonomy_level,
            confidence=_score(flagged.confidence),
        )
    if image.properties:
        _properties(node, image.properties)
    if image.source == Image.Source.VIDEO:
        _camera(node, image)
    return _serialise(root)


def _camera(node: etree._Element, frame: Image) -> None:
    """Where and when a live camera's frame, kept for a sighting, was seen (a recorded video's frames are
    told of in its ``video.analysed``)."""
    sighting = Sighting.objects.filter(frame=frame, camera__isnull=False).select_related("camera").first()
    if sighting is not None and sighting.camera is not None:
        _sub(
            node, "camera", name=sighting.camera.name, location=sighting.camera.location,
            seenAt=_time(sighting.seen_at), seconds=f"{sighting.last_at - sighting.first_at:.3f}",
        )  # fmt: skip


def video_event(video: Video, *, key: str) -> bytes:
    """The document for ``video.analysed``: the video, each sighting with its times and person, and the
    stretches of its labels (and lines of text) when it was analysed for them."""
    root = _root("video.analysed", key)
    node = _sub(
        root, "video", id=str(video.pk), sha256=video.sha256 or None, container=video.container,
        codec=video.codec, width=video.width, height=video.height, duration=f"{video.duration or 0:.3f}",
        collection=video.collection.name, createdAt=_time(video.created_at), analysedAt=_time(video.analysed_at),
    )  # fmt: skip
    _sub(node, "engine", name=video.engine, modelVersion=video.model_version)
    sightings = _sub(node, "sightings")
    # Each frame's boxes and details are the REST API's to page through; the document says when and who.
    for sighting in video.sightings.select_related("person").defer("boxes", "details").order_by("first_at"):
        element = _sub(
            sightings, "sighting", id=str(sighting.pk), firstAt=f"{sighting.first_at:.3f}",
            lastAt=f"{sighting.last_at:.3f}", bestAt=f"{sighting.best_at:.3f}",
            faceId=str(sighting.face_id) if sighting.face_id else None,
        )  # fmt: skip
        if sighting.person is not None:
            _sub(element, "person", id=str(sighting.person.pk), externalId=sighting.person.external_id,
                 name=sighting.person.name, similarity=_score(sighting.similarity or 100.0),
                 watched="true" if sighting.person.watched else None)  # fmt: skip
    if {"labels", "moderation", "text"} & set(video.features):
        labels = _sub(node, "labels")
        for stretch in video_label_segments(video):
            element = _sub(labels, "label", kind=stretch["kind"], name=stretch["name"],
                           firstAt=f"{stretch['first_at']:.3f}", lastAt=f"{stretch['last_at']:.3f}",
                           frames=stretch["frames"], confidence=_score(stretch["confidence"]))  # fmt: skip
            for parent in stretch["parents"]:
                _sub(element, "parent", name=parent)
    return _serialise(root)


def _properties(node: etree._Element, properties: dict) -> None:
    quality = properties.get("Quality", {})
    element = _sub(
        node,
        "properties",
        brightness=_score(quality.get("Brightness", 0.0)),
        sharpness=_score(quality.get("Sharpness", 0.0)),
        contrast=_score(quality.get("Contrast", 0.0)),
    )
    for colour in properties.get("DominantColors", []):
        _sub(
            element,
            "dominantColour",
            hex=colour["HexCode"],
            simplified=colour["SimplifiedColor"],
            pixelPercent=_score(colour["PixelPercent"]),
        )


def verification_event(verification: Verification, *, key: str) -> bytes:
    """The document for a badge + face verification result."""
    root = _root("verification.result", key)
    node = _sub(
        root,
        "verification",
        id=str(verification.pk),
        externalId=verification.external_id,
        outcome=verification.outcome,
        match="true" if verification.match else "false",
        similarity=None if verification.similarity is None else _score(verification.similarity),
        threshold=_score(verification.threshold),
        verifiedAt=_time(verification.created_at),
        device=verification.device or None,
        liveness=verification.liveness or None,
    )
    person = verification.person
    if person is not None:
        _sub(node, "person", id=str(person.pk), externalId=person.external_id, name=person.name)
    return _serialise(root)


TEST_EVENT = "endpoint.test"  # sent only when an operator asks (``endpoint_test``); no endpoint subscribes to it


def endpoint_test_event(endpoint_name: str, *, key: str, requested_by: str) -> bytes:
    """The document of a test event: which endpoint it tries, and who asked."""
    root = _root(TEST_EVENT, key)
    _sub(root, "test", endpoint=endpoint_name, requestedBy=requested_by)
    return _serialise(root)


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def _root(event: str, key: str) -> etree._Element:
    return etree.Element(f"{_NS}event", nsmap={None: NAMESPACE}, type=event, id=key, createdAt=_time(timezone.now()))


def _sub(parent: etree._Element, tag: str, **attributes) -> etree._Element:
    return etree.SubElement(
        parent, f"{_NS}{tag}", {k: xml_text(str(v)) for k, v in attributes.items() if v is not None and v != ""}
    )


#: What XML 1.0 cannot carry at all (lxml refuses it): C0 controls but tab and line breaks, lone
#: surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` with what XML cannot carry replaced by U+FFFD: stored text can never stop a document."""
    return _NOT_XML.sub("\ufffd", value)


def _box(parent: etree._Element, box: dict) -> None:
    _sub(
        parent,
        "boundingBox",
        left=_ratio(box.get("Left", 0)),
        top=_ratio(box.get("Top", 0)),
        width=_ratio(box.get("Width", 0)),
        height=_ratio(box.get("Height", 0)),
    )


def _score(value: float) -> str:
    return f"{min(max(float(value), 0.0), 100.0):.3f}"


def _ratio(value: float) -> str:
    return f"{min(max(float(value), 0.0), 1.0):.6f}"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
