"""A followed face becomes a sighting: its best frame kept as an image with its face, identified once like
any face (so the review queue, enrolment and the watch list work on it), for a video or a camera."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Q
from django.utils import timezone
from PIL import Image as PILImage

from recognition.engines.base import BaseEngine, BoundingBox, FaceDetail, Landmark
from recognition.models import Collection, Image, Person
from recognition.services import results as rows
from recognition.services.analysis import faces_identify
from recognition.services.collections import people_of
from recognition.services.files import stored_file
from recognition.services.ingest import new_image
from recognition.services.stored import StoredResults
from recognition.services.watch import watch_alerts_record
from recognition.signals import image_analysed
from recognition.validation import checked
from videos.models import Camera, Sighting, Video
from videos.tracking import Track


def sighting_record(
    *, track: Track, frame_jpeg: bytes, collection: Collection, engine: BaseEngine, video: Video | None = None,
    camera: Camera | None = None, seen_at: datetime | None = None,
) -> Sighting:  # fmt: skip
    """Call inside a transaction: the frame image, its face (identified, unless the video's faces are only
    followed), watch alerts, and the sighting. A
    live camera's sighting is also announced as its frame's analysis (``image_analysed``), so endpoints hear
    of it at once; a recorded video's are told of together when the video is done."""
    best = track.best
    assert best is not None
    identify, kept = (video.identify, video.face_details) if video else (True, Video.FaceDetails.NONE)
    [match] = (
        faces_identify(collection=collection, engine=engine, data=frame_jpeg, faces=[best]) if identify else [None]
    )
    where = f"{video} at {track.best_at:.1f} s" if video else f"{camera} at {timezone.localtime():%Y-%m-%d %H:%M:%S}"
    frame = new_image(
        info=checked(frame_jpeg).info, uploaded_by=video.uploaded_by if video else None, collection=collection,
        source=Image.Source.VIDEO, original_filename=where[:255], features=["faces"], status=Image.Status.DONE,
        engine=engine.name, model_version=engine.model_version, analysed_at=timezone.now(),
    )  # fmt: skip
    with stored_file(image=frame, data=frame_jpeg, extension="jpg"):
        frame.save()
    candidates = people_of([match])
    face = rows.face_row(
        image=frame, face=best, engine=engine.name, model_version=engine.model_version,
        candidate=candidates.get(match.user_id) if match else None,
        similarity=match.similarity if match else None, match_threshold=collection.identify_threshold,
    )  # fmt: skip
    face.save()
    watch_alerts_record(image=frame, faces=[face])
    sighting = Sighting.objects.create(
        video=video, camera=camera, seen_at=seen_at, face=face, frame=frame, person_id=face.person_id,
        candidate_id=face.candidate_id, similarity=face.similarity, first_at=track.first_at,
        last_at=track.last_at, best_at=track.best_at,
        boxes=[_box(at, seen) for at, seen in track.observations],
        details=[_details(seen, kept) for _, seen in track.observations] if kept != Video.FaceDetails.NONE else [],
    )  # fmt: skip
    if camera is not None:
        results = StoredResults.of(labels=[], faces=[face], text=[], moderation=[])
        image_analysed.send(sender=Image, image=frame, results=results)
    return sighting


def sighting_faces(sighting: Sighting) -> list[tuple[float, FaceDetail]]:
    """Each time the sighting's face was seen: when (seconds) and the face as then, with as much as its video
    kept: the box, the detection's confidence (0 in sightings recorded before it was kept), and landmarks,
    pose, quality and attributes where the video keeps them."""
    details = sighting.details or [{}] * len(sighting.boxes)
    return [(seen[0], _face(seen, kept)) for seen, kept in zip(sighting.boxes, details, strict=True)]


def sightings_forget_details(*, sender: type[Person], instance: Person, **kwargs: Any) -> None:
    """Connected to ``pre_delete`` of people (an erasure deletes the person last, inside its transaction):
    their sightings, and those they were the candidate of, keep each frame's box and no more of the face."""
    Sighting.objects.filter(Q(person=instance) | Q(candidate=instance)).exclude(details=[]).update(details=[])


def _box(at: float, face: FaceDetail) -> list[float]:
    box = face.bounding_box
    return [at, round(box.left, 4), round(box.top, 4), round(box.width, 4), round(box.height, 4),
            round(face.confidence, 2)]  # fmt: skip


def _details(face: FaceDetail, kept: str) -> dict[str, Any]:
    """What a video keeping ``kept`` face details keeps of the face at one frame."""
    details: dict[str, Any] = {
        "landmarks": [[mark.type, round(mark.x, 4), round(mark.y, 4)] for mark in face.landmarks],
        "pose": face.pose,
        "quality": face.quality,
    }
    if kept == Video.FaceDetails.ALL:
        details["attributes"] = face.attributes
    return details


def _face(seen: list[float], details: dict[str, Any]) -> FaceDetail:
    _, left, top, width, height, *confidence = seen
    return FaceDetail(
        bounding_box=BoundingBox(left, top, width, height), confidence=confidence[0] if confidence else 0.0,
        landmarks=tuple(Landmark(kind, x, y) for kind, x, y in details.get("landmarks", ())),
        pose=details.get("pose", {}), quality=details.get("quality", {}), attributes=details.get("attributes", {}),
    )  # fmt: skip


def jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(rgb).save(out, "JPEG", quality=92)
    return out.getvalue()
