"""Pictures are kept as uploaded, served clean: no metadata, nothing appended, upright; MPO is accepted."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from backoffice import roles
from recognition.models import Image
from recognition.services.analysis import image_analyse
from recognition.services.erasure import image_delete
from tests import images
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ORIENTATION, GPS = 0x0112, 0x8825
APPENDED = b"<html><script>alert(document.cookie)</script></html>"


def photo_with_gps_and_a_page_appended() -> bytes:
    picture = PILImage.open(io.BytesIO(images.jpeg((120, 80), seed=4)))
    exif = PILImage.Exif()
    exif[ORIENTATION] = 6  # taken sideways: shown rotated 90°
    exif.get_ifd(GPS).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue() + APPENDED


def upload(client, data: bytes, name: str = "p.jpg") -> Image:
    response = client.post("/api/images/", {"file": SimpleUploadedFile(name, data, "image/jpeg")})
    assert response.status_code == 202, response.content
    return Image.objects.get(pk=response.json()["id"])


def test_the_served_picture_is_upright_and_carries_no_metadata_or_appended_data(api_client):
    data = photo_with_gps_and_a_page_appended()
    image = upload(api_client, data)
    assert image.read_bytes() == data, "the original is kept as uploaded (its checksum stays verifiable)"
    assert (image.width, image.height) == (80, 120)

    served = api_client.get(f"/api/images/{image.pk}/file/")
    assert served["Content-Type"] == "image/jpeg"
    body = served.content
    assert APPENDED not in body and b"Exif" not in body
    picture = PILImage.open(io.BytesIO(body))
    assert picture.size == (80, 120) and not picture.getexif()


def test_only_those_allowed_download_the_original(api_client):
    data = photo_with_gps_and_a_page_appended()
    image = upload(api_client, data)
    assert api_client.get(f"/api/images/{image.pk}/file/", {"original": "true"}).status_code == 403
    administrator = client_for(UserFactory(role=roles.ADMINISTRATOR))
    original = administrator.get(f"/api/images/{image.pk}/file/", {"original": "true"})
    assert original.status_code == 200 and b"".join(original.streaming_content) == data


def test_a_multi_picture_jpeg_is_accepted_and_its_first_picture_analysed(api_client):
    first = PILImage.open(io.BytesIO(images.jpeg((96, 72), seed=6)))
    second = PILImage.open(io.BytesIO(images.jpeg((96, 72), seed=7)))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    assert PILImage.open(io.BytesIO(out.getvalue())).format == "MPO"

    image = upload(api_client, out.getvalue(), name="stereo.mpo")
    assert image.content_type == "image/jpeg" and image.file.name.endswith(".jpg")
    assert image_analyse(image_id=image.pk).status == Image.Status.DONE
    assert image.faces.count() == 1


def test_deleting_an_image_deletes_its_clean_rendition(api_client, media_root, django_capture_on_commit_callbacks):
    image = upload(api_client, images.jpeg((96, 72), seed=8))
    api_client.get(f"/api/images/{image.pk}/file/")
    assert list(media_root.rglob(f"{image.pk}-clean.jpg"))
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(image=image)
    assert not list(media_root.rglob(f"{image.pk}-clean.*"))
