"""The int8 moderation classifier: built from the shipped ranges, kept in the model cache, close to float."""

import logging

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from recognition.engines.local import LocalEngine, int8, models
from recognition.engines.local.models import ModelSet, fast_int8_cpu
from tests.images import FIXTURES

# bench/int8.py measured at most 0.18 points on a CPU with VNNI and 0.68 on one with AVX2 alone (Zen 2 and
# Zen 3 alike), on photos outside the calibration set; the fixtures are inside it.
TOLERANCE = 1.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def int8_models(cache) -> ModelSet:
    models = ModelSet(int8=True, cache_dir=cache)
    models.nsfw  # noqa: B018 (builds the int8 model and keeps it)
    return models


def cached_files(cache):
    return sorted(path.name for path in cache.iterdir())


def test_the_int8_model_is_kept_in_the_cache_and_reused(cache, int8_models):
    [name] = cached_files(cache)
    assert name.startswith("moderation-int8-") and name.endswith(".onnx")
    operators = [node.op_type for node in onnx.load(str(cache / name)).graph.node]
    assert operators.count("DequantizeLinear") > 50  # weights and activations of every convolution
    kept = (cache / name).stat().st_mtime_ns

    ModelSet(int8=True, cache_dir=cache).nsfw  # noqa: B018

    assert cached_files(cache) == [name]
    assert (cache / name).stat().st_mtime_ns == kept  # read, not built and written again


def test_an_unwritable_cache_costs_a_warning_not_the_model(tmp_path, caplog):
    blocked = tmp_path / "a file"
    blocked.write_text("not a directory")
    engine = LocalEngine(int8=True, model_cache=str(blocked / "models"))

    with caplog.at_level(logging.WARNING, logger="recognition.engines.local.model_cache"):
        score = engine.moderation_score((FIXTURES / "dog.jpg").read_bytes())

    assert 0 <= score < 10
    assert "Could not keep the model" in caplog.text


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "dog.jpg", "kite.jpg", "messi5.jpg"])
def test_int8_moderation_scores_stay_close_to_float(cache, int8_models, name):
    image = (FIXTURES / name).read_bytes()
    exact = LocalEngine(int8=False).moderation_score(image)
    quantised = LocalEngine(int8=True, model_cache=str(cache)).moderation_score(image)

    assert abs(quantised - exact) < TOLERANCE


@pytest.mark.parametrize(
    ("cpuinfo", "fast"),
    [
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n", True),
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx_vnni\n", True),
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n", False),
        ("processor\t: 0\nFeatures\t: fp asimd crc32 atomics asimddp\n", True),
        ("processor\t: 0\nFeatures\t: fp asimd crc32\n", False),
    ],
)
def test_int8_dot_products_are_read_from_cpuinfo(tmp_path, cpuinfo, fast):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert fast_int8_cpu(path) is fast


def test_an_unreadable_cpuinfo_means_no_int8_dot_products(tmp_path):
    assert fast_int8_cpu(tmp_path / "missing") is False


def test_with_int8_dot_products_the_int8_model_runs_without_measuring(cache, monkeypatch):
    monkeypatch.setattr(models, "fast_int8_cpu", lambda: True)
    monkeypatch.setattr(int8, "median_ms", lambda sessions: pytest.fail("measured"))
    chosen = ModelSet(cache_dir=cache)
    chosen.nsfw  # noqa: B018
    assert chosen.int8 is True


@pytest.mark.parametrize(("int8_ms", "runs_in"), [(10.0, "int8"), (17.0, "float")])
def test_without_int8_dot_products_the_int8_model_runs_only_where_measured_faster(
    cache, monkeypatch, caplog, int8_ms, runs_in
):
    """AVX2 alone: no faster on one CPU (Zen 2), 42 % faster on another (Zen 3); ``WORTH`` is 0.8."""
    monkeypatch.setattr(models, "fast_int8_cpu", lambda: False)
    measured = []
    monkeypatch.setattr(int8, "median_ms", lambda sessions: measured.append(sessions) or [int8_ms, 20.0])
    chosen = ModelSet(cache_dir=cache)
    with caplog.at_level(logging.INFO, logger="recognition.engines.local.models"):
        session = chosen.nsfw

    quantised, exact = measured[0]
    assert session is (quantised if runs_in == "int8" else exact)
    assert chosen.int8 is (runs_in == "int8")
    assert f"Moderation runs in {runs_in} on this CPU: {int8_ms:.1f} ms in int8, 20.0 ms in float." in caplog.text
    assert "DequantizeLinear" in operators(quantised) and "DequantizeLinear" not in operators(exact)


@pytest.fixture
def unbuildable_int8(monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError("quantising ran out of memory")

    monkeypatch.setattr(int8, "quantized", broken)


def test_an_int8_model_that_cannot_be_built_leaves_moderation_in_float(tmp_path, unbuildable_int8, caplog):
    chosen = ModelSet(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="recognition.engines.local.models"):
        session = chosen.nsfw

    assert chosen.int8 is False and "DequantizeLinear" not in operators(session)
    assert "The int8 moderation model could not be built; moderation runs in float." in caplog.text


def test_an_int8_model_asked_for_that_cannot_be_built_says_why(tmp_path, unbuildable_int8):
    with pytest.raises(MemoryError, match="quantising ran out of memory"):
        ModelSet(int8=True, cache_dir=tmp_path).nsfw  # noqa: B018


def operators(session) -> set[str]:
    """The operators of the model ``session`` runs, as onnxruntime was given it."""
    return {node.op_type for node in onnx.load_from_string(session._model_bytes).graph.node}


def test_median_ms_tells_a_slower_model_from_a_faster_one():
    """Real runs of two models on the same input: one copies it, the other multiplies it 30 times."""
    size = 512
    weight = numpy_helper.from_array(np.eye(size, dtype=np.float32), "w")
    chain = [helper.make_node("MatMul", ["x" if i == 0 else f"m{i - 1}", "w"], [f"m{i}"]) for i in range(30)]
    chain.append(helper.make_node("Identity", ["m29"], ["y"]))
    shapes = {"inputs": [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", size])],
              "outputs": [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", size])]}  # fmt: skip
    opsets = {"opset_imports": [helper.make_opsetid("", 13)], "ir_version": 8}  # what onnxruntime reads
    slow = helper.make_model(helper.make_graph(chain, "slow", initializer=[weight], **shapes), **opsets)
    fast = helper.make_model(
        helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "fast", **shapes), **opsets
    )
    sessions = [ModelSet().onnx_session(model.SerializeToString()) for model in (fast, slow)]

    fast_ms, slow_ms = int8.median_ms(sessions)

    assert 0 < fast_ms < slow_ms
