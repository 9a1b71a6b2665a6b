"""FACESITE_STORAGE=s3 for real: images and crops kept in an S3-compatible server on loopback (moto's
standalone server), encrypted on the server side, read back by analysis, deleted by erasure and by the
retention purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recognition.models import Image
from recognition.services import thumbnails
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.retention import retention_purge
from tests import images
from tests.conftest import S3_MEDIA_BUCKET

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = S3_MEDIA_BUCKET


def keys(s3) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_an_upload_is_stored_encrypted_analysed_from_s3_and_erased_with_its_crops(
    s3_media, admin_client_api, django_capture_on_commit_callbacks
):
    data = images.jpeg((96, 72), seed=8)
    answer = admin_client_api.post("/api/images/", {"file": images.upload_file(data)}, format="multipart")
    assert answer.status_code == 202, answer.content
    image = Image.objects.get(pk=answer.json()["id"])
    [original] = keys(s3_media)
    assert original.startswith("facesite/") and original == f"facesite/{image.file.name}"
    stored = s3_media.get_object(Bucket=BUCKET, Key=original)
    assert stored["ServerSideEncryption"] == "AES256" and stored["Body"].read() == data

    analysed = image_analyse(image_id=image.pk)  # reads the object back from the server
    assert analysed.status == Image.Status.DONE and analysed.faces.exists()
    crop = thumbnails.face_crop(analysed.faces.get())
    assert crop and len(keys(s3_media)) == 2, "the face's crop is kept beside the original"
    assert all(s3_media.head_object(Bucket=BUCKET, Key=k)["ServerSideEncryption"] == "AES256" for k in keys(s3_media))

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client_api.delete(f"/api/images/{image.pk}/").status_code == 204
    assert keys(s3_media) == [], "erasure removes the original and its crops from the bucket"


def test_the_retention_purge_removes_an_expired_image_from_the_bucket(
    s3_media, settings, django_capture_on_commit_callbacks
):
    settings.FACESITE_RETENTION = {**settings.FACESITE_RETENTION, "images": 30}
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=9)).pk)
    thumbnails.face_crop(image.faces.get())
    assert len(keys(s3_media)) == 2
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_purge()["images"] == 1
    assert keys(s3_media) == []


def test_a_subject_access_export_is_kept_encrypted_in_the_bucket_served_and_erased_with_its_person(
    s3_media, obama_and_biden, django_capture_on_commit_callbacks
):
    from backoffice import roles
    from recognition.services.erasure import person_erase
    from recognition.services.exports import export_make, export_open, export_request
    from tests.factories import UserFactory

    obama, _ = obama_and_biden
    administrator = UserFactory(role=roles.ADMINISTRATOR)
    export = export_request(person=obama, actor=administrator)
    export_make(export_id=str(export.pk))
    export.refresh_from_db()
    key = f"facesite/{export.file.name}"
    assert key in keys(s3_media) and s3_media.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
    with export_open(export=export, actor=administrator) as archive:
        assert archive.read(2) == b"PK", "the zip, read back from the bucket"

    with django_capture_on_commit_callbacks(execute=True):
        person_erase(person=obama)
    assert key not in keys(s3_media), "no copy of an erased person's faces stays in the bucket"
