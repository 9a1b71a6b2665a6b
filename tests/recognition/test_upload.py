"""Uploading through the API: what is accepted, and what is refused without leaving anything behind."""

import base64
import socket

import PIL.Image
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recognition.api.images import RESULTS
from recognition.exceptions import ImageRejected
from recognition.models import Image
from recognition.validation import inspect_image
from tests import images
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db

URL = "/api/images/"


def upload(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg", **fields):
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type=content_type), **fields})


def assert_nothing_stored(media_root):
    assert Image.objects.count() == 0
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_upload_returns_202_with_a_pending_image(api_client, media_root, django_capture_on_commit_callbacks):
    data = images.jpeg((320, 240), seed=1)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(api_client, data)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert (body["width"], body["height"], body["content_type"]) == (320, 240, "image/jpeg")
    assert body["features"] == ["labels", "faces", "moderation"]
    image = Image.objects.get(pk=body["id"])
    assert image.read_bytes() == data
    assert image.sha256 == __import__("hashlib").sha256(data).hexdigest()
    assert len(callbacks) == 1, "analysis is queued once, after commit"


def test_a_new_image_answers_with_empty_results_without_reading_them(api_client):
    with CaptureQueriesContext(connection) as queries:
        body = upload(api_client, images.jpeg((320, 240), seed=2)).json()

    assert [body[name] for name in RESULTS] == [[]] * len(RESULTS)
    result_tables = [Image._meta.get_field(name).related_model._meta.db_table for name in RESULTS]
    assert not [q["sql"] for q in queries if any(f'"{table}"' in q["sql"] for table in result_tables)]
    # The same image read back afterwards does read them.
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get(f"{URL}{body['id']}/").json()["labels"] == []
    assert any('"recognition_label"' in q["sql"] for q in queries)


def test_format_comes_from_the_bytes_not_the_name_or_header(api_client):
    data = images.solid((10, 200, 10), fmt="PNG")
    response = upload(api_client, data, name="holiday.jpg", content_type="image/jpeg")
    assert response.status_code == 202
    assert response.json()["content_type"] == "image/png"


def test_requested_features_are_recorded(api_client):
    response = upload(api_client, images.jpeg(), features=["text", "faces"])
    assert response.status_code == 202
    assert response.json()["features"] == ["faces", "text"]


@pytest.mark.parametrize("features", ["text,faces", " text , faces ", ["text,faces"], ["text", "faces,"]])
def test_features_may_be_named_in_one_comma_separated_field(api_client, features):
    response = upload(api_client, images.jpeg(seed=7), features=features)
    assert response.status_code == 202, response.content
    assert response.json()["features"] == ["faces", "text"]


def test_features_that_are_not_names_are_refused_in_json(api_client, media_root):
    photo = base64.b64encode(images.jpeg()).decode()
    for features in ([{}], [["faces"]], 7):
        response = api_client.post(URL, {"image_base64": photo, "features": features}, format="json")
        assert response.status_code == 400 and "features" in response.json(), features
    assert_nothing_stored(media_root)


def test_an_unknown_feature_among_others_is_named_alone(api_client, media_root):
    response = upload(api_client, images.jpeg(), features="labels,faces,bogus")
    assert response.status_code == 400
    assert response.json() == {"features": ['"bogus" is not a valid choice.']}
    assert_nothing_stored(media_root)


def test_unknown_collection_is_refused(api_client, media_root):
    response = upload(api_client, images.jpeg(), collection="nobody")
    assert response.status_code == 400
    assert "No collection is named 'nobody'" in response.json()["collection"][0]
    assert_nothing_stored(media_root)


def test_upload_needs_authentication(client, media_root):
    response = upload(client, images.jpeg())
    assert response.status_code in (401, 403)
    assert_nothing_stored(media_root)


def test_upload_of_a_non_image_is_rejected(api_client, media_root):
    response = upload(api_client, b"%PDF-1.4 this is not a picture at all\n" * 20, name="x.jpg")
    assert response.status_code == 400
    assert "not in any known image format" in response.json()["file"][0]
    assert_nothing_stored(media_root)


def test_upload_of_a_truncated_jpeg_is_rejected(api_client, media_root):
    data = images.jpeg((640, 480), seed=2)
    response = upload(api_client, data[: len(data) // 2])
    assert response.status_code == 400
    assert "corrupt or truncated" in response.json()["file"][0]
    assert_nothing_stored(media_root)


def test_upload_over_the_size_limit_is_rejected(api_client, media_root, settings):
    # Over the image limit, but within the body's allowance for other fields: the file's own message.
    settings.FACESITE_MAX_UPLOAD_BYTES = 100_000
    data = images.jpeg((800, 600), seed=3, quality=100)
    assert 100_000 < len(data) < 100_000 + 64 * 1024
    response = upload(api_client, data)
    assert response.status_code == 400
    assert f"The file is {len(data):,} bytes; the limit is 100,000 bytes." == response.json()["file"][0]
    assert_nothing_stored(media_root)


def test_decompression_bomb_is_rejected(api_client, media_root):
    bomb = images.png_bomb(20_000, 20_000)
    assert len(bomb) < 100_000  # tiny file, 400 million pixels
    response = upload(api_client, bomb, name="bomb.png", content_type="image/png")
    assert response.status_code == 400
    assert response.json()["file"][0] == "Image has 400,000,000 pixels, above the limit of 24,000,000 pixels."
    assert_nothing_stored(media_root)


def test_the_pixel_limit_is_the_settings_not_pillows(api_client, media_root, settings, monkeypatch):
    """Pillow warns above a limit of its own and refuses above twice that; FACESITE_MAX_IMAGE_PIXELS is the
    one that counts, set above Pillow's (Pillow's limit scaled down here to 1 Mpx, as 89 Mpx is by default)."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1_000_000)
    settings.FACESITE_MAX_IMAGE_PIXELS = 2_500_000
    within = upload(api_client, images.png_bomb(1500, 1000), name="wide.png", content_type="image/png")
    assert within.status_code == 202, within.content
    beyond = upload(api_client, images.png_bomb(3000, 1000), name="wider.png", content_type="image/png")
    assert beyond.status_code == 400
    assert beyond.json()["file"][0] == "Image has 3,000,000 pixels, above the limit of 2,500,000 pixels."


def test_empty_file_is_rejected(api_client, media_root):
    response = upload(api_client, b"")
    assert response.status_code == 400
    assert_nothing_stored(media_root)


def test_unsupported_image_format_is_rejected(api_client, media_root):
    response = upload(api_client, images.encode(images.Image.new("RGB", (32, 32)), "ICO"), name="favicon.ico")
    assert response.status_code == 400
    assert "ICO images are not accepted" in response.json()["file"][0]
    assert_nothing_stored(media_root)


def test_a_format_not_accepted_is_refused_from_its_header_before_its_decoder_runs(api_client, media_root):
    pixmap = images.encode(images.Image.new("RGB", (64, 64), (200, 30, 30)), "PPM")
    damaged = pixmap[:-500]  # its pixels cut short: decoding it would fail as truncated
    response = upload(api_client, damaged, name="scan.ppm")
    assert response.status_code == 400
    [message] = response.json()["file"]
    assert message == "PPM images are not accepted; send one of: JPEG, MPO, PNG, WEBP, GIF, BMP, TIFF."
    assert_nothing_stored(media_root)


def test_an_iphone_heic_photo_is_refused_with_how_to_send_it(api_client, media_root):
    heic = (FIXTURES / "obama.heic").read_bytes()
    with pytest.raises(ImageRejected) as refused:
        inspect_image(heic)
    assert refused.value.code == "unsupported_format"
    response = upload(api_client, heic, name="IMG_0001.HEIC")
    assert response.status_code == 400
    [message] = response.json()["file"]
    assert message.startswith("This is a HEIF (HEIC) picture, as iPhones take them") and "send it as JPEG" in message
    assert_nothing_stored(media_root)


@pytest.mark.parametrize(
    "picture",
    [
        pytest.param(lambda: images.Image.new("L", (40, 30), 128), id="greyscale"),
        pytest.param(lambda: images.Image.new("CMYK", (40, 30), (0, 50, 50, 0)), id="cmyk"),
        pytest.param(lambda: images.Image.new("RGBA", (40, 30), (1, 2, 3, 100)), id="alpha"),
        pytest.param(lambda: images.Image.new("I;16", (40, 30), 40000), id="16-bit"),
    ],
)
def test_unusual_pixel_formats_are_accepted(api_client, picture):
    pic = picture()
    fmt = "JPEG" if pic.mode == "CMYK" else "PNG"
    response = upload(api_client, images.encode(pic, fmt), name="odd")
    assert response.status_code == 202, response.content


def test_exif_rotated_jpeg_reports_its_displayed_size(api_client):
    picture = images.Image.new("RGB", (80, 40), (200, 10, 10))
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90° when displayed
    response = upload(api_client, images.encode(picture, "JPEG", exif=exif))
    assert response.status_code == 202
    assert (response.json()["width"], response.json()["height"]) == (40, 80)


def test_failed_database_write_leaves_no_file(api_client, media_root, monkeypatch):
    def broken_save(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Image, "save", broken_save)
    with pytest.raises(RuntimeError):
        upload(api_client, images.jpeg())
    assert_nothing_stored(media_root)


def test_image_over_the_configured_pixel_limit_is_rejected(api_client, media_root, settings):
    settings.FACESITE_MAX_IMAGE_PIXELS = 100_000
    response = upload(api_client, images.jpeg((400, 300)))
    assert response.status_code == 400
    assert response.json()["file"][0] == "Image is 400×300 pixels, above the limit of 100,000 pixels."
    assert_nothing_stored(media_root)


@pytest.mark.parametrize("kind", ["multipart", "json"])
def test_a_body_far_over_the_limit_is_refused_with_413(api_client, media_root, settings, kind):
    settings.FACESITE_MAX_UPLOAD_BYTES = 20_000
    data = images.jpeg((900, 700), seed=3, quality=100)
    assert len(data) > 120_000
    if kind == "json":
        response = api_client.post("/api/images/", {"image_base64": base64.b64encode(data).decode()}, format="json")
    else:
        response = upload(api_client, data)
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The request body is {int(response.request['CONTENT_LENGTH']):,} bytes; "
        "the limit is 92,203 bytes (images up to 20,000 bytes).",
        "code": "too_large",
    }
    assert_nothing_stored(media_root)


@pytest.mark.django_db(transaction=True)
def test_an_oversized_body_is_refused_before_it_is_sent(live_server, settings):
    """The server answers 413 from the declared length alone, while the client has sent a few bytes of it."""
    from urllib.parse import urlsplit

    from backoffice import roles
    from tests.factories import UserFactory
    from tests.helpers import token_for

    key = token_for(UserFactory(role=roles.OPERATOR))
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/images/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + f"Authorization: Token {key}\r\nContent-Length: 1000000000\r\n\r\n".encode()
            + b'{"image_base64": "'
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize("scope", ["upload", "enrol"])
def test_uploads_and_enrolments_are_rate_limited_per_user_across_processes(api_client, scope, monkeypatch):
    """Counted per user whichever client sends, in Redis (checked below), which every web process shares."""
    from rest_framework.test import APIClient
    from rest_framework.throttling import SimpleRateThrottle

    from tests.factories import PersonFactory

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, scope: "2/min"})
    person = PersonFactory()
    path = "/api/images/" if scope == "upload" else f"/api/people/{person.pk}/faces/"
    other_client = APIClient()
    other_client.credentials(**api_client._credentials)

    def send(client, seed):
        body = {"image_base64": base64.b64encode(images.jpeg((96, 72), seed=seed)).decode()}
        return client.post(path, body, format="json").status_code

    codes = [send(api_client, 1), send(other_client, 2), send(api_client, 3)]
    assert codes[:2] == [202, 202] if scope == "upload" else codes[:2] == [201, 201]
    assert codes[2] == 429
    import redis
    from django.conf import settings

    keys = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]).keys(f"*throttle_{scope}*")
    assert keys, "the count is in Redis, where every web process sees it"


@pytest.mark.parametrize("engine", ["local", "rekognition"])
def test_engines_decode_what_uploads_let_in_and_what_was_let_in_before(settings, engine):
    """Above their own default (50 Mpx) when the setting is: an upload it lets in must not fail in analysis.
    Below it, pictures accepted before the limit was lowered are still analysed."""
    from recognition.engine_handler import engine_named

    settings.FACESITE_MAX_IMAGE_PIXELS = 60_000_000
    assert engine_named(engine).max_pixels == 60_000_000
    settings.FACESITE_MAX_IMAGE_PIXELS = 100_000
    assert engine_named(engine).max_pixels == 50_000_000


def test_a_picture_accepted_before_the_limit_was_lowered_is_still_analysed(settings, local_engine):
    from recognition.services.analysis import image_analyse
    from recognition.services.ingest import image_ingest

    image = image_ingest(data=images.jpeg((400, 300), seed=3))
    settings.FACESITE_MAX_IMAGE_PIXELS = 100_000
    assert image_analyse(image_id=image.pk).status == Image.Status.DONE
