"""manage.py import_people and import_images from S3: a prefix read as a folder tree, and s3:// objects in
lists, against a real S3-compatible server on loopback (moto's standalone server)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from recognition.models import Face, Image, Person
from recognition.services import bulk
from tests import images, servers
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3(settings, monkeypatch):
    with servers.s3_read_from(settings, monkeypatch, "photos") as client:
        yield client


def run(command: str, *args, **options) -> str:
    out = io.StringIO()
    call_command(command, *map(str, args), stdout=out, **options)
    return out.getvalue()


def test_people_are_enrolled_from_an_s3_prefix_laid_out_as_a_folder(s3, settings, media_root):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    for key, photo in {"B-44/obama.jpg": "obama.jpg", "B-44/obama2.jpg": "obama2.jpg", "B-46/biden.jpg": "biden.jpg",
                       "B-44-new.jpg": "obama3.jpg", ".trash/B-46/old.jpg": "biden.jpg",
                       ".thumbnails/small.jpg": "obama.jpg"}.items():  # fmt: skip
        s3.put_object(Bucket="photos", Key=f"staff/{key}", Body=(FIXTURES / photo).read_bytes())
    s3.put_object(Bucket="photos", Key="staff/B-46/notes.txt", Body=b"not a photo")
    s3.put_object(Bucket="photos", Key="elsewhere/B-47/obama.jpg", Body=(FIXTURES / "obama.jpg").read_bytes())

    output = run("import_people", "s3://photos/staff")  # a prefix is a folder, with or without its last /
    assert "Listing s3://photos/staff …" in output, "said before a large prefix's listing keeps one waiting"
    assert "Enrolling 3 photos of 2 people" in output and "enrolled           3" in output
    assert Face.objects.references().filter(person__external_id="B-44").count() == 2
    assert Person.objects.get(external_id="B-46").name == "B-46" and not Person.objects.filter(external_id="B-47")
    assert "s3://photos/staff/B-44-new.jpg: not in a person's own folder" in output
    assert "s3://photos/staff/B-46/notes.txt: not a photo by its name" in output and ".trash" not in output
    assert not Person.objects.filter(external_id__startswith="."), "a hidden folder is no person's"
    assert "skipped            3  (already enrolled 3)" in run("import_people", "s3://photos/staff/")


def test_images_are_queued_from_an_s3_prefix_and_from_s3_objects_in_a_list(s3, settings, media_root, tmp_path):
    for i in range(3):
        s3.put_object(Bucket="photos", Key=f"cameras/door/{i}.jpg", Body=images.jpeg((96, 72), seed=300 + i))
    s3.put_object(Bucket="photos", Key="cameras/door/readme.txt", Body=b"not an image")
    s3.put_object(Bucket="photos", Key="cameras/lobby 7 Dec.jpg", Body=images.jpeg((96, 72), seed=310))
    settings.FACESITE_MAX_UPLOAD_BYTES = 100_000
    s3.put_object(Bucket="photos", Key="cameras/huge.jpg", Body=images.jpeg((96, 72), seed=311) + b"\0" * 100_000)

    output = run("import_images", "s3://photos/cameras/door/")
    assert "queued             3" in output and "readme.txt: not a photo by its name" in output
    assert sorted(Image.objects.values_list("original_filename", flat=True)) == ["0.jpg", "1.jpg", "2.jpg"]
    assert set(Image.objects.values_list("source", flat=True)) == {Image.Source.IMPORT}, "read here, not fetched"

    listing = tmp_path / "photos.txt"
    listing.write_text(
        "s3://photos/cameras/lobby 7 Dec.jpg\ns3://photos/cameras/door/0.jpg\ns3://photos/cameras/huge.jpg\n"
    )
    output = run("import_images", listing)
    assert "queued             1" in output and "skipped            1  (already uploaded 1)" in output
    assert "s3://photos/cameras/huge.jpg: The file is larger than the limit of 100,000 bytes." in output
    assert Image.objects.filter(original_filename="lobby 7 Dec.jpg").exists()


def test_a_bucket_that_cannot_be_listed_stops_the_import_saying_so(s3):
    with pytest.raises(CommandError, match=r"s3://nowhere/people/ cannot be listed: S3 refused .*NoSuchBucket"):
        run("import_people", "s3://nowhere/people/")
    with pytest.raises(CommandError, match="cannot be listed"):
        run("import_images", "s3://nowhere/")


def test_an_import_lists_its_prefix_once_for_what_it_reads_and_what_it_leaves_out(s3, monkeypatch):
    for key in ("door/B-44/0.jpg", "door/B-44/notes.txt", "door/loose.jpg"):
        s3.put_object(Bucket="photos", Key=key, Body=images.jpeg((96, 72), seed=320))
    listings, real = [], bulk.s3_listed
    monkeypatch.setattr(bulk, "s3_listed", lambda prefix: listings.append(str(prefix)) or real(prefix))

    images_output = run("import_images", "s3://photos/door/", dry_run=True)
    people_output = run("import_people", "s3://photos/door/", dry_run=True)
    assert listings == ["s3://photos/door/", "s3://photos/door/"], "once a command: a request per 1000 objects"
    assert "would queue        2" in images_output and "door/B-44/notes.txt: not a photo by its name" in images_output
    assert "would enrol        1" in people_output and "door/loose.jpg: not in a person's own folder" in people_output
