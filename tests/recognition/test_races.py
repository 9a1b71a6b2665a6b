"""What happens at the same instant happens once: uploads, cached crops, deliveries, admin enrolment."""

import threading

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connections
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse

from backoffice import roles
from recognition.models import Image, Person
from recognition.services import thumbnails
from recognition.services.analysis import image_analyse
from recognition.services.erasure import image_delete
from recognition.services.ingest import image_ingest, image_upload
from tests import images
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_identical_uploads_at_the_same_instant_make_one_image(media_root):
    data = images.jpeg((96, 72), seed=11)
    start = threading.Barrier(4)
    results, errors = [], []

    def upload():
        try:
            start.wait()
            results.append(image_upload(data=data))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert Image.objects.count() == 1
    assert {r.image.pk for r in results} == {Image.objects.get().pk}
    assert sum(r.created for r in results) == 1
    stored = [p for p in media_root.rglob("*") if p.is_file()]
    assert len(stored) == 1, "the losers' files were removed with their rolled-back rows"


@pytest.mark.django_db
def test_a_cached_crop_made_twice_is_kept_once_under_its_own_name(media_root):
    thumbnails.store_once("thumbs/faces/x-112.jpg", b"first")
    thumbnails.store_once("thumbs/faces/x-112.jpg", b"second, made at the same time")
    assert [p.name for p in media_root.rglob("*.jpg")] == ["x-112.jpg"], "no copy erasure could not find"


@pytest.mark.django_db
@pytest.mark.parametrize("picture", ["face crop", "thumbnail", "clean rendition"])
def test_a_picture_made_while_its_image_is_erased_is_not_kept_after_the_erasure(
    media_root, monkeypatch, django_capture_on_commit_callbacks, picture
):
    image = image_analyse(image_id=image_ingest(data=images.jpeg((96, 72), seed=8)).pk)
    face = image.faces.get()
    make, real = {"face crop": ("_crop", thumbnails._crop), "thumbnail": ("_render", thumbnails._render),
                  "clean rendition": ("_clean", thumbnails._clean)}[picture]  # fmt: skip

    def erased_meanwhile(*args, **kwargs):  # another request erases the image while this one makes its picture
        made = real(*args, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            image_delete(image=Image.objects.get(pk=image.pk))
        return made

    monkeypatch.setattr(thumbnails, make, erased_meanwhile)
    served = {"face crop": lambda: thumbnails.face_crop(face, size=160),
              "thumbnail": lambda: thumbnails.image_thumbnail(image, size=160),
              "clean rendition": lambda: thumbnails.clean_rendition(image)[0]}[picture]()  # fmt: skip
    assert served.startswith(b"\xff\xd8"), "the request that made it is answered"
    assert not any(media_root.rglob("*.*")), "nothing of the erased image stays in storage"


@pytest.mark.django_db
def test_a_rolled_back_admin_enrolment_leaves_no_photo_behind(media_root):
    client = Client()
    client.force_login(UserFactory(is_staff=True, role=roles.OPERATOR))

    def fail(**kwargs):
        raise RuntimeError("the database went away while the admin logged the change")

    post_save.connect(fail, sender=LogEntry, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError):
            client.post(
                reverse("admin:recognition_person_add"),
                {"name": "Ada", "enrol_photo": images.upload_file(images.jpeg((200, 150), seed=3))},
            )
    finally:
        post_save.disconnect(dispatch_uid="test-fail", sender=LogEntry)
    assert not Person.objects.exists() and not Image.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()], "no photo outlives its rolled-back row"
