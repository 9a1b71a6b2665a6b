"""Packaged ONNX models, rewritten once at load so that onnxruntime runs them fast; the results stay the same
(to float rounding).

- ``folded``: OpenCV's "int8bq" models keep their weights as int8 blocks that ``DequantizeLinear`` nodes
  (then ``Reshape``) turn back into floats. onnxruntime does not fold those nodes into constants (it keeps
  them for its own quantised kernels), so every inference would dequantise every weight again and the
  convolutions could not pre-pack them; it also refuses some of these files outright (per-tensor scales
  with a block size, stale graph inputs for the original weights). ``folded`` computes the float weights
  once, with numpy: the arithmetic OpenCV does at load.
- ``without_subnormal_weights``: dlib's age network holds thousands of weights below float32's smallest
  normal number. Intel CPUs take a slow microcode path for every multiplication by one; set to zero they
  give the same probabilities (11.9 → 1.2 ms per face on a Sapphire Rapids core).
- ``prelu_as_relus``: onnxruntime computes ``PRelu`` with a branch per element, outside the blocked
  layout (NCHWc) its x86 convolutions work in, so SFace's 27 PRelus cost more than its convolutions.
  Written as ``x + (1 - slope) × Relu(-x)``, with the scalings as ``BatchNormalization``, every step
  becomes a convolution onnxruntime fuses and keeps blocked (25 → 13 ms per face on the same core; written
  first as ``Relu(x) - slope × Relu(-x)``, whose first Relu stayed outside, 0.8 ms a face more on an
  Emerald Rapids core).
- ``any_batch``: SFace's file declares one face a run. Opened, a picture's faces share runs (faces.py), and
  its final layer's weights are read once a run instead of once a face.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

SMALLEST_NORMAL = np.finfo(np.float32).tiny


def folded(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every ``DequantizeLinear`` and ``Reshape`` of constants replaced by its result."""
    values = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    computed: set[str] = set()
    rest = []
    for node in model.graph.node:  # in topological order: a node's constant inputs are known before it
        constant = node.input and all(name in values for name in node.input if name)
        if constant and node.op_type in ("DequantizeLinear", "Reshape"):
            values[node.output[0]] = _dequantize(node, values) if node.op_type == "DequantizeLinear" else (
                values[node.input[0]].reshape(values[node.input[1]])
            )  # fmt: skip
            computed.add(node.output[0])
        else:
            rest.append(node)
    needed = {name for node in rest for name in node.input} | {output.name for output in model.graph.output}
    initializers = [numpy_helper.from_array(value, name) for name, value in values.items() if name in needed]
    inputs = [value for value in model.graph.input if value.name in needed and value.name not in values]
    graph = helper.make_graph(rest, model.graph.name, inputs, list(model.graph.output), initializers)
    result = helper.make_model(graph, opset_imports=model.opset_import)
    result.ir_version = model.ir_version
    return result


def any_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with the first dimension of its inputs and outputs left open, so that a run can take several
    images (for models whose layers do not depend on it)."""
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    return model


def without_subnormal_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every float32 weight smaller in magnitude than float32's smallest normal set to zero."""
    for tensor in model.graph.initializer:
        weights = numpy_helper.to_array(tensor)
        if weights.dtype == np.float32 and np.any(np.abs(weights) < SMALLEST_NORMAL):
            flushed = np.where(np.abs(weights) < SMALLEST_NORMAL, np.float32(0), weights)
            tensor.CopyFrom(numpy_helper.from_array(flushed, tensor.name))
    return model


def prelu_as_relus(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with each ``PRelu`` of a per-channel slope (on NCHW tensors) replaced by
    ``x + BN(1 - slope)(Relu(BN(-1)(x)))``, where ``BN(a)`` multiplies channel c by ``a[c]``: x where x ≥ 0,
    and x + (1 - slope) × (-x) = slope × x where x < 0. onnxruntime fuses the Relu into the first scaling and
    the Add into the second, so nothing is left outside its blocked convolutions."""
    weights = {tensor.name: tensor for tensor in model.graph.initializer}
    nodes, used = [], set()
    for node in model.graph.node:
        if not _per_channel_prelu(node, weights):
            nodes.append(node)
            continue
        x, slope_name = node.input
        slope = numpy_helper.to_array(weights[slope_name]).astype(np.float32).reshape(-1)
        name = node.name or node.output[0]
        flipped, negative, scaled = (f"{name}/{part}" for part in ("flipped", "neg", "scaled"))
        nodes += [
            _channel_scale(model, f"{name}/minus_one", x, flipped, -np.ones_like(slope)),
            helper.make_node("Relu", [flipped], [negative], name=negative),
            _channel_scale(model, f"{name}/one_minus_slope", negative, scaled, 1 - slope),
            helper.make_node("Add", [x, scaled], [node.output[0]], name=f"{name}/sum"),
        ]
        used.add(slope_name)
    still_needed = {name for node in nodes for name in node.input}
    kept = [tensor for tensor in model.graph.initializer if tensor.name not in used or tensor.name in still_needed]
    del model.graph.node[:], model.graph.initializer[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(kept)
    return model


def _per_channel_prelu(node: onnx.NodeProto, weights: dict[str, onnx.TensorProto]) -> bool:
    """Whether ``node`` is a PRelu whose slope is a constant of shape (channels, 1, 1)."""
    if node.op_type != "PRelu" or node.input[1] not in weights:
        return False
    dims = tuple(weights[node.input[1]].dims)
    return len(dims) == 3 and dims[1:] == (1, 1)


def _channel_scale(model: onnx.ModelProto, name: str, x: str, output: str, scale: np.ndarray) -> onnx.NodeProto:
    """A ``BatchNormalization`` that multiplies channel c of ``x`` by ``scale[c]`` exactly (mean 0, variance 1,
    epsilon 0), its parameters added to ``model``'s weights. onnxruntime turns it into a blocked convolution."""
    zeros, ones = np.zeros_like(scale), np.ones_like(scale)
    parameters = {"scale": scale, "bias": zeros, "mean": zeros, "var": ones}
    model.graph.initializer.extend(numpy_helper.from_array(value, f"{name}/{key}") for key, value in parameters.items())
    return helper.make_node(
        "BatchNormalization", [x, *(f"{name}/{key}" for key in parameters)], [output], name=name, epsilon=0.0
    )


def _dequantize(node: onnx.NodeProto, values: dict[str, np.ndarray]) -> np.ndarray:
    """``(x - zero_point) * scale`` per tensor, per axis or per block (ONNX DequantizeLinear, opset 21)."""
    attributes = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
    quantised = values[node.input[0]].astype(np.float32)
    scale = values[node.input[1]].astype(np.float32)
    zero = values[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2] else np.zeros_like(scale)
    if scale.size == 1:
        return ((quantised - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    axis = attributes.get("axis", 1) % quantised.ndim
    block = attributes.get("block_size", 0)
    if block:  # each scale covers `block` consecutive elements along the axis
        length = quantised.shape[axis]
        scale = np.repeat(scale, block, axis=axis).take(np.arange(length), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(np.arange(length), axis=axis)
    else:  # one scale per index along the axis
        shape = [1] * quantised.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((quantised - zero) * scale).astype(np.float32)
