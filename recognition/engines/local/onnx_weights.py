"""Weight-only quantised ONNX models, made fast on onnxruntime.

OpenCV's "int8bq" models keep their weights as int8 blocks that ``DequantizeLinear`` nodes (then
``Reshape``) turn back into floats. onnxruntime does not fold those nodes into constants (it keeps them
for its own quantised kernels), so every inference would dequantise every weight again and the
convolutions could not pre-pack them; it also refuses some of these files outright (per-tensor scales
with a block size, stale graph inputs for the original weights). ``folded`` computes the float weights
once, with numpy, and returns a model whose convolutions see plain constants: the arithmetic OpenCV does
at load.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


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
