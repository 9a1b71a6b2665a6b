"""A followed face becomes a sighting: its best frame kept as an image with its face, identified once like
any face (so the review queue, enrolment and the watch list work on it), for a video or a camera."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
from django.utils import timezone
from PIL import Image as PILImage

from recognition.engines.base import BaseEngine
from recognition.models import Collection, Image
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
    camera: Camera | None = None, seen_at: datetime | None = None, identify: bool = True,
) -> Sighting:  # fmt: skip
    """Call inside a transaction: the frame image, its face (identified), watch alerts, and the sighting. A
    live camera's sighting is also announced as its frame's analysis (``image_analysed``), so endpoints hear
    of it at once; a recorded video's are told of together when the video is done."""
    best = track.best
    assert best is not None
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
        boxes=[[at, round(b.left, 4), round(b.top, 4), round(b.width, 4), round(b.height, 4), round(confidence, 2)]
               for at, b, confidence in track.observations],
    )  # fmt: skip
    if camera is not None:
        results = StoredResults.of(labels=[], faces=[face], text=[], moderation=[])
        image_analysed.send(sender=Image, image=frame, results=results)
    return sighting


def jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(rgb).save(out, "JPEG", quality=92)
    return out.getvalue()
