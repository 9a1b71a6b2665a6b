"""The int8 moderation classifier: built from the shipped ranges, kept in the model cache, close to float."""

import logging

import onnx
import pytest

from recognition.engines.local import LocalEngine
from recognition.engines.local.models import ModelSet, fast_int8_cpu
from tests.images import FIXTURES

# bench/int8.py measured at most 0.18 points on a CPU with VNNI and 0.68 on one with AVX2 alone, on photos
# outside the calibration set; the fixtures are inside it.
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
def test_int8_is_the_default_only_on_cpus_with_int8_dot_products(tmp_path, cpuinfo, fast):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert fast_int8_cpu(path) is fast


def test_an_unreadable_cpuinfo_means_float(tmp_path):
    assert fast_int8_cpu(tmp_path / "missing") is False
    assert ModelSet().int8 is fast_int8_cpu()
