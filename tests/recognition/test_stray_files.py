"""Stray files: stored files no row names, found by walking the real storage (a local folder, and a bucket of a
real S3 server on loopback) and deleted only when asked, audited."""

from __future__ import annotations

import io
import os
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse

from backoffice import roles
from facesite.devredis import free_port
from recognition.models import AuditEvent, Face, Image, PersonExport
from recognition.services import strays, thumbnails
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.strays import strays_delete, strays_find, strays_last_check
from recognition.tasks import check_stray_files
from tests import images
from tests.conftest import S3_MEDIA_BUCKET
from tests.factories import PersonFactory
from tests.recognition.test_admin import admin_client
from videos.models import VideoChunk
from videos.services import video_upload

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def store(name: str, *, days_ago: float = 2.0) -> str:
    """A file in the local storage, last written ``days_ago``."""
    saved = default_storage.save(name, ContentFile(b"stored bytes"))
    when = time.time() - days_ago * 86400
    os.utime(default_storage.path(saved), (when, when))
    return saved


def aged(name: str) -> str:
    """An existing stored file, made two days old."""
    when = time.time() - 2 * 86400
    os.utime(default_storage.path(name), (when, when))
    return name


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("stray_files", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def stored(settings) -> dict[str, set[str]]:
    """An analysed image with its thumbnail and crops, a video with a frame a chunk keeps: all named by rows.
    Beside them, files no row names: an erased face's kiosk crop, an upload whose row never committed, the
    thumbnail of a deleted image, a frame of a video gone. And files that are not Facesite's to judge."""
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=8)).pk)
    face = image.faces.get()
    held = {image.file.name}
    thumbnails.image_thumbnail(image, size=160)
    for size in thumbnails.FACE_CROP_SIZES:
        thumbnails.face_crop(face, size=size)
    thumbnails.clean_rendition(image)
    held |= {n for n in thumbnails.cached_names(image_ids=[image.pk], face_ids=[face.pk]) if default_storage.exists(n)}
    assert len(held) == 1 + 2 + len(thumbnails.FACE_CROP_SIZES)
    video = video_upload(file=io.BytesIO(_clip()), filename="door.mp4")
    kept_frame = store(f"videos/frames/{video.pk}/0-0.jpg")
    VideoChunk.objects.create(video=video, index=0, start=0, end=1, status="done", tracks=[{"frame_key": kept_frame}])
    export = PersonExport.objects.create(person=PersonFactory(), status="ready")
    PersonExport.objects.filter(pk=export.pk).update(file=store(f"exports/{export.pk}.zip"))
    held |= {video.file.name, kept_frame, f"exports/{export.pk}.zip"}
    for name in held:
        aged(name)

    # A face erased before erasure deleted every crop size: its row went, its 160 px crop stayed.
    other = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=9)).pk)
    gone_face = other.faces.get()
    thumbnails.face_crop(gone_face, size=160)
    Face.objects.filter(pk=gone_face.pk).delete()
    stray = {
        aged(f"thumbs/faces/{gone_face.pk}-160.jpg"),
        store(f"images/2026/10/{uuid.uuid4()}.jpg"),  # a process died between storing and committing
        store(f"thumbs/{uuid.uuid4()}-800.jpg"),  # an image deleted while its file deletion was refused
        store(f"videos/frames/{uuid.uuid4()}/3-1.jpg"),  # a chunk's frame of a video gone before the fix
        store(f"exports/{uuid.uuid4()}.zip"),  # a subject access export its worker stored as it died
    }
    held |= {other.file.name}
    aged(other.file.name)
    recent = {store(f"images/2026/12/{uuid.uuid4()}.jpg", days_ago=0)}  # an upload being committed now
    not_ours = {store("thumbs/README.txt"), store("backups/someone.zip"), store("readyz-probe")}
    return {"held": held, "stray": stray, "recent": recent, "not_ours": not_ours}


def _clip() -> bytes:
    from tests.clips import video

    return video([(None, 1.0)])


def test_the_search_finds_exactly_the_files_no_row_names_and_that_are_old_enough(stored):
    found = strays_find(older_than=DAY)
    assert set(found.strays) == stored["stray"]
    assert set(found.recent) == stored["recent"]
    # Files outside the folders Facesite stores under are not even looked at; those inside are all counted.
    assert found.scanned.total() == len(stored["held"] | stored["stray"] | stored["recent"]) + 1  # + README.txt
    assert found.kept == len(stored["held"]) + 1
    assert set(found.scanned) == {"exports/", "images/", "thumbs/", "thumbs/faces/", "videos/", "videos/frames/"}


def test_the_command_lists_them_deletes_nothing_unless_asked_then_deletes_only_them_audited(stored):
    listed = run()
    for name in stored["stray"]:
        assert name in listed
    assert "5 stray" in listed and "1 too recent to judge" in listed and "--delete" in listed
    assert "10 kept" in listed, "what rows name, and README.txt, not named as Facesite names its files"
    assert all(default_storage.exists(name) for name in stored["stray"]), "a listing deletes nothing"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.STORAGE_STRAYS_DELETE).exists()

    assert "Deleted 5" in run("--delete")
    assert not any(default_storage.exists(name) for name in stored["stray"])
    for kept in stored["held"] | stored["recent"] | stored["not_ours"]:
        assert default_storage.exists(kept), kept
    [event] = AuditEvent.objects.filter(action=AuditEvent.Action.STORAGE_STRAYS_DELETE)
    assert event.details["deleted"] == {
        "exports/": 1,
        "images/": 1,
        "thumbs/": 1,
        "thumbs/faces/": 1,
        "videos/frames/": 1,
    }
    assert event.details["refused"] == 0 and event.details["via"] == "manage.py stray_files"
    assert "0 stray" in run("--delete"), "a second run finds nothing left"


def test_a_file_a_row_names_by_the_time_of_the_deletion_is_kept(stored):
    found = strays_find(older_than=DAY)
    [orphan] = [name for name in found.strays if name.startswith("images/")]
    Image.objects.filter(pk=Image.objects.first().pk).update(file=orphan)  # named again meanwhile
    result = strays_delete(names=list(found.strays), actor=None)
    assert result.named_again == [orphan] and default_storage.exists(orphan)
    assert len(result.deleted) == 4 and result.refused == []


def test_too_young_a_cutoff_is_refused_and_progress_is_reported_on_long_searches(stored, monkeypatch):
    with pytest.raises(CommandError, match="at least 1 hour"):
        run("--older-than", "0.5")
    monkeypatch.setattr(strays, "PROGRESS_EVERY", 3)
    monkeypatch.setattr(strays, "BATCH", 2)
    assert run().count("files looked at…") >= 3


def test_a_name_outside_every_folder_is_refused():
    with pytest.raises(ValueError, match="in no folder Facesite stores under"):
        strays_delete(names=["backups/someone.zip"], actor=None)


@pytest.mark.django_db(transaction=True)
def test_in_an_s3_bucket_too(s3_media):
    image = image_ingest(data=images.jpeg((96, 72), seed=8))
    stray = f"images/2026/10/{uuid.uuid4()}.jpg"
    s3_media.put_object(Bucket=S3_MEDIA_BUCKET, Key=f"facesite/{stray}", Body=b"left behind")
    s3_media.put_object(Bucket=S3_MEDIA_BUCKET, Key="elsewhere/images/x.jpg", Body=b"another app's")

    found = strays_find(older_than=timedelta(0))
    assert list(found.strays) == [stray] and found.kept == 1
    assert strays_delete(names=list(found.strays), actor=None).deleted == [stray]
    assert strays._written(stray) is None, "a file deleted between listing and looking is skipped"
    keys = {item["Key"] for item in s3_media.list_objects_v2(Bucket=S3_MEDIA_BUCKET)["Contents"]}
    assert keys == {f"facesite/{image.file.name}", "elsewhere/images/x.jpg"}


def test_a_storage_that_cannot_be_read_is_said_so_and_nothing_is_deleted(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "media-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "media-secret")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "media",
                "region_name": "eu-west-1",
                "endpoint_url": f"http://127.0.0.1:{free_port()}",
            },
        },
    }
    with pytest.raises(CommandError, match=r"The storage could not be read \(.*127\.0\.0\.1.*\); nothing was deleted"):
        run("--delete")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.STORAGE_STRAYS_DELETE).exists()


def test_the_periodic_check_reports_strays_in_the_log_and_on_the_dashboard_and_deletes_nothing(
    stored, settings, caplog
):
    assert settings.CELERY_BEAT_SCHEDULE["stray-files-check"]["schedule"] == timedelta(days=7)
    assert check_stray_files.run() == {**strays_last_check(), "strays": 5}  # the task body, in this process
    assert all(default_storage.exists(name) for name in stored["stray"]), "a check deletes nothing"
    assert "5 stray files in storage" in caplog.text and "manage.py stray_files" in caplog.text
    administrator, reviewer = (admin_client(role) for role in (roles.ADMINISTRATOR, roles.REVIEWER))
    assert "<strong>5</strong> stray file(s) in storage" in administrator.get(reverse("admin:index")).content.decode()
    assert 'class="stray-files"' not in reviewer.get(reverse("admin:index")).content.decode(), "for those who delete"

    run("--delete")
    strays.strays_check()
    assert 'class="stray-files"' not in administrator.get(reverse("admin:index")).content.decode()
