"""Weight-only quantised ONNX models, made fast on onnxruntime.

OpenCV's "int8bq" models keep their weights as int8 blocks that ``DequantizeLinear`` nodes turn back into
floats. onnxruntime does not fold those nodes into constants (it keeps them for its own quantised kernels),
so every inference would dequantise every weight again and the convolutions could not pre-pack them; it also
refuses the stale graph inputs these files still declare for the original weights. ``folded`` computes the
float weights once and returns a model whose convolutions see plain constants: the same arithmetic as
OpenCV's, which dequantises at load too.
"""

from __future__ import annotations

from typing import Any

import onnx
from onnx import TensorProto, helper, numpy_helper


def folded(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every node computed from constants alone replaced by the constant it computes."""
    import onnxruntime as ort

    constants = {tensor.name for tensor in model.graph.initializer}
    constant_nodes = []
    for node in model.graph.node:  # in topological order, so a node's constant inputs are already known
        if node.input and all(name in constants for name in node.input if name):
            constant_nodes.append(node)
            constants.update(node.output)
    rest = [node for node in model.graph.node if node not in constant_nodes]
    needed = {name for node in rest for name in node.input} | {output.name for output in model.graph.output}
    wanted = [name for node in constant_nodes for name in node.output if name in needed]
    values: list[Any] = []
    constant_inputs = {name for node in constant_nodes for name in node.input}
    if wanted:
        weights = helper.make_model(
            helper.make_graph(
                constant_nodes, "weights", [],
                [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in wanted],
                [tensor for tensor in model.graph.initializer if tensor.name in constant_inputs],
            ),
            opset_imports=model.opset_import,
        )  # fmt: skip
        weights.ir_version = model.ir_version
        values = ort.InferenceSession(weights.SerializeToString(), providers=["CPUExecutionProvider"]).run(wanted, {})
    initializers = [tensor for tensor in model.graph.initializer if tensor.name in needed]
    initializers += [numpy_helper.from_array(value, name) for name, value in zip(wanted, values, strict=True)]
    inputs = [value for value in model.graph.input if value.name in needed and value.name not in constants]
    graph = helper.make_graph(rest, model.graph.name, inputs, list(model.graph.output), initializers)
    result = helper.make_model(graph, opset_imports=model.opset_import)
    result.ir_version = model.ir_version
    return result
