"""Image properties (quality and dominant colours): asked for as a feature, stored, served and sent."""

from __future__ import annotations

import io

import pytest
from lxml import etree
from PIL import Image as PILImage

from integrations import xml
from recognition.engines.properties import image_properties
from recognition.services.analysis import image_analyse
from recognition.services.ingest import image_ingest
from recognition.services.stored import StoredResults
from tests import images

pytestmark = pytest.mark.django_db


def picture(data: bytes) -> PILImage.Image:
    return PILImage.open(io.BytesIO(data)).convert("RGB")


def test_quality_and_colours_follow_the_pixels():
    white = image_properties(picture(images.solid((255, 255, 255), (120, 90))))
    black = image_properties(picture(images.solid((0, 0, 0), (120, 90))))
    assert white.brightness == pytest.approx(100.0) and black.brightness == pytest.approx(0.0)
    assert white.contrast == pytest.approx(0.0) and white.sharpness == pytest.approx(0.0)

    half = PILImage.new("RGB", (200, 100), (220, 20, 20))
    half.paste((30, 60, 210), (100, 0, 200, 100))
    colours = image_properties(half).dominant_colours
    assert {c.simplified for c in colours[:2]} == {"red", "blue"}
    assert [round(c.pixel_percent) for c in colours[:2]] == [50, 50]
    stark = PILImage.new("RGB", (200, 100), (0, 0, 0))
    stark.paste((255, 255, 255), (100, 0, 200, 100))
    assert image_properties(stark).contrast > 90

    blurred = image_properties(picture(images.jpeg((200, 150), seed=3)))
    sharp = image_properties(picture(images.encode(PILImage.effect_noise((200, 150), 80).convert("RGB"), "PNG")))
    assert sharp.sharpness > blurred.sharpness


def test_properties_are_stored_served_and_delivered(api_client):
    image = image_ingest(data=images.solid((200, 30, 30), (120, 90)), features=["labels", "properties"])
    image = image_analyse(image_id=image.pk)
    assert image.properties["DominantColors"][0]["SimplifiedColor"] == "red"
    assert set(image.properties["Quality"]) == {"Brightness", "Sharpness", "Contrast"}

    served = api_client.get(f"/api/images/{image.pk}/").json()
    assert served["properties"]["dominant_colors"][0]["simplified_color"] == "red"  # snake_case, as all the API

    document = etree.fromstring(xml.image_event(image, StoredResults.read(image), event="image.analysed", key="k"))
    xml.schema().assertValid(document)
    node = document.find(f".//{{{xml.NAMESPACE}}}properties")
    assert node.get("brightness") and node[0].get("simplified") == "red"


def test_properties_can_be_asked_for_through_the_api(api_client):
    response = api_client.post(
        "/api/images/", {"file": images.upload_file(images.jpeg(seed=5)), "features": ["faces", "properties"]}
    )
    assert response.status_code == 202, response.content
    assert response.json()["features"] == ["faces", "properties"]
