"""manage.py import_images: a folder or a list of paths and URLs, uploaded and queued as API uploads are."""

from __future__ import annotations

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from recognition.models import AuditEvent, Collection, Image
from tests import images
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command("import_images", *map(str, args), stdout=out, **options)
    return out.getvalue()


def test_a_folder_tree_is_uploaded_and_queued_once(tmp_path, media_root, django_capture_on_commit_callbacks):
    photos = tmp_path / "photos"  # beside the media folder, not around it
    (photos / "camera-1" / "monday").mkdir(parents=True)
    for i in range(3):
        (photos / "camera-1" / "monday" / f"{i}.jpg").write_bytes(images.jpeg((96, 72), seed=200 + i))
    (photos / "camera-1" / "copy.jpg").write_bytes(images.jpeg((96, 72), seed=200))  # the same bytes again
    (photos / "camera-1" / "readme.txt").write_text("not an image, not read")
    (photos / "camera-1" / "cut.jpg").write_bytes(images.jpeg((96, 72), seed=9)[:300])
    shutil.copy(FIXTURES / "obama.heic", photos / "camera-1" / "IMG_0001.HEIC")  # an iPhone's
    (photos / "camera-1" / "Thumbs.db").write_bytes(b"\xd0\xcf")  # Windows' own file, not the operator's
    (photos / "camera-1" / ".thumbnails").mkdir()  # a viewer's own copies, not the operator's photos
    (photos / "camera-1" / ".thumbnails" / "0.jpg").write_bytes(images.jpeg((48, 36), seed=200))

    with django_capture_on_commit_callbacks() as queued:
        output = run(photos, features="faces,labels")
    assert "queued             3" in output and "skipped            1" in output and "refused            1" in output
    assert "cut.jpg: " in output
    assert "skipped            1  (already uploaded 1)" in output and "left out           2" in output
    assert "readme.txt: not a photo by its name (read: .bmp, .gif, .jpeg" in output
    assert "IMG_0001.HEIC: This is a HEIF (HEIC) picture" in output and "Thumbs.db" not in output
    assert len(queued) == 3, "each new image's analysis is queued once it commits"
    assert Image.objects.filter(source=Image.Source.IMPORT, status=Image.Status.PENDING).count() == 3
    assert all(image.features == ["labels", "faces"] for image in Image.objects.all())
    assert AuditEvent.objects.filter(action="image.upload").count() >= 3

    again = run(photos)
    assert "queued             0" in again and "skipped            4" in again
    assert Image.objects.count() == 3


def test_a_list_of_urls_is_committed_for_the_worker_to_fetch(tmp_path, image_server, settings):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# from the old system\n{image_server.url_for('a.jpg')}\n\n{image_server.url_for('b.jpg')}\n"
        "http://169.254.169.254/latest/meta-data/\n"
    )
    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    Collection.objects.create(name="lobby")
    output = run(listing, collection="lobby")
    assert "queued             2" in output and "refused            1" in output
    assert "169.254.169.254" in output, "the cloud metadata address is refused, as for URL uploads"
    assert set(Image.objects.values_list("source", "collection__name")) == {(Image.Source.URL, "lobby")}
    assert image_server.requests == 0, "the worker fetches them, not the command"
    assert "skipped            2" in run(listing, collection="lobby")


def test_a_dry_run_changes_nothing_and_bad_options_are_named(tmp_path):
    (tmp_path / "a.jpg").write_bytes(images.jpeg((96, 72), seed=1))
    assert "would queue        1" in run(tmp_path, dry_run=True)
    assert not Image.objects.exists()
    with pytest.raises(CommandError, match="Unknown feature"):
        run(tmp_path, features="faces,colour")
    with pytest.raises(CommandError, match="cannot be read"):
        run(tmp_path / "missing.txt")
    (tmp_path / "list.txt").write_bytes("photos/café.jpg\n".encode("latin-1"))
    with pytest.raises(CommandError, match=r"list\.txt, line 1: not UTF-8 text \(byte 0xe9\)"):
        run(tmp_path / "list.txt")
    read = run(tmp_path / "list.txt", dry_run=True, encoding="latin-1")
    assert "refused            1" in read and "photos/café.jpg: cannot be read" in read, "the name read right"
    with pytest.raises(CommandError, match="--workers must be 1 or more"):
        run(tmp_path, workers=0)
