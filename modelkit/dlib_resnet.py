"""Converts dlib's face-recognition ResNet (parsed by :mod:`dlib_format`) to an ONNX graph.

Graph contract (also written into the model's ``metadata_props``):

* input ``input``: float32 ``(N, 3, 150, 150)``, RGB, NCHW, already normalised as
  ``(pixel - INPUT_MEAN_RGB) * INPUT_SCALE`` (use :func:`preprocess_rgb_chips`). Normalising
  outside the graph keeps it an ordinary NCHW embedder, so the inference adapter treats it
  like any other ONNX recognizer (mean, scale, layout and colour order come from config);
* output ``embedding``: float32 ``(N, 128)``, raw (not L2-normalised) like dlib's descriptor;
* dynamic batch ``N``; a batch gives the same numbers as its faces one at a time.

The wiring is dlib's ``anet_type`` from ``dnn_face_recognition_ex.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<
      alevel0<alevel1<alevel2<alevel3<alevel4<
      max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>
    alevel0 = ares_down<256>; alevel1 = ares<256, ares<256, ares_down<256>>>
    alevel2 = ares<128, ares<128, ares_down<128>>>; alevel3 = 3 x ares<64> on ares_down<64>
    alevel4 = 3 x ares<32>
    ares      = relu<add_prev1<block<N, stride 1, tag1<x>>>>
    ares_down = relu<add_prev2<avg_pool<2,2,2,2, skip1<tag2<block<N, stride 2, tag1<x>>>>>>>
    block     = affine<con<N,3,3,1,1, relu<affine<con<N,3,3,stride,stride, x>>>>>>

dlib pads stride-1 layers by half the window and stride-2 layers not at all, so sizes go
150→72→35→17→8→4→2. In a down-sampling block the two branches of the add then differ in
channels and sometimes in size (8×8 input: the conv gives 3×3, the pool 4×4); dlib's
``add_prev`` zero-pads the smaller tensor at the end of each axis (top-left aligned), so the
graph pads both branches to the larger shape before ``Add``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from adapters.engine.dlib_format import (
    AddPrev,
    Affine,
    Conv,
    DlibNetwork,
    FullyConnected,
    Layer,
    Pool,
    Relu,
    load_resnet,
)

#: ONNX operator set the graph is written for (pinned: the bytes must not drift).
OPSET = 17
#: IR version matching :data:`OPSET`.
IR_VERSION = 8
#: Bumped whenever the converter's output changes; recorded in the model store's manifest.
CONVERTER_VERSION = "1"
INPUT_NAME = "input"
OUTPUT_NAME = "embedding"
CHIP_SIZE = 150
EMBEDDING_SIZE = 128
#: dlib's per-channel means (R, G, B), exactly the float32 values stored in the ``.dat`` file.
INPUT_MEAN_RGB = (122.782, 117.001, 104.298)
#: dlib divides by 256, not 255.
INPUT_SCALE = 1.0 / 256.0

# (kind, channels) from input to output; see the module docstring.
_BLOCKS: tuple[tuple[str, int], ...] = (
    *(("res", 32),) * 3,
    ("down", 64),
    *(("res", 64),) * 3,
    ("down", 128),
    *(("res", 128),) * 2,
    ("down", 256),
    *(("res", 256),) * 2,
    ("down", 256),
)


class ConversionError(ValueError):
    """The parsed network does not have the structure of dlib's face-recognition ResNet."""


def expected_layer_versions() -> tuple[int, ...]:
    """The container versions ``anet_type`` writes, output→input (2 layer, 1 tag/skip, 3 first)."""
    versions = [2, 2]  # fc_no_bias, avg_pool_everything
    for kind, _ in reversed(_BLOCKS):
        if kind == "down":  # relu add_prev avg_pool skip1 tag2 affine con relu affine con tag1
            versions += [2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 1]
        else:  # relu add_prev affine con relu affine con tag1
            versions += [2, 2, 2, 2, 2, 2, 2, 1]
    versions += [2, 2, 2, 3]  # max_pool relu affine con(on the input layer)
    return tuple(versions)


def preprocess_rgb_chips(chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(N, 150, 150, 3) uint8 RGB chips → the graph's (N, 3, 150, 150) float32 input.

    Float32 arithmetic in the order dlib's ``input_rgb_image`` uses, so the values are
    bit-identical to what dlib feeds its network.
    """
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"expected (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) RGB chips, got {chips.shape}")
    mean = np.asarray(INPUT_MEAN_RGB, dtype=np.float32)
    x = (chips.astype(np.float32) - mean) * np.float32(INPUT_SCALE)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@dataclass
class _Value:
    name: str
    shape: tuple[int, int, int]  # (C, H, W); the batch axis is dynamic


@dataclass
class _GraphBuilder:
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    counter: int = 0

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, prefix: str, array: npt.NDArray[np.generic]) -> str:
        name = self._name(prefix)
        self.initializers.append(numpy_helper.from_array(array, name=name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}:{out}", **attrs))
        return out


def _window_out(size: int, window: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - window) // stride + 1


class _Converter:
    """Walks the layer records in input→output order, following ``_BLOCKS``."""

    def __init__(self, network: DlibNetwork) -> None:
        self.layers = list(network.layers)
        self.index = 0
        self.g = _GraphBuilder()

    def take(self, kind: type[Layer]) -> Layer:
        if self.index >= len(self.layers):
            raise ConversionError(f"network ends early: wanted {kind.__name__}")
        layer = self.layers[self.index]
        if not isinstance(layer, kind):
            raise ConversionError(
                f"layer {self.index}: expected {kind.__name__}, found {type(layer).__name__}"
            )
        self.index += 1
        return layer

    def conv(self, x: _Value, out_channels: int, stride: int) -> _Value:
        layer = self.take(Conv)
        assert isinstance(layer, Conv)
        o, i, kh, kw = layer.weights.shape
        if o != out_channels or i != x.shape[0] or layer.stride != (stride, stride):
            raise ConversionError(f"conv {self.index - 1}: unexpected shape {layer.weights.shape}")
        py, px = layer.padding
        w = self.g.const("conv_w", layer.weights)
        b = self.g.const("conv_b", layer.bias)
        out = self.g.node(
            "Conv",
            [x.name, w, b],
            kernel_shape=[kh, kw],
            strides=list(layer.stride),
            pads=[py, px, py, px],
        )
        _, h, wd = x.shape
        return _Value(
            out,
            (o, _window_out(h, kh, stride, py), _window_out(wd, kw, stride, px)),
        )

    def affine(self, x: _Value) -> _Value:
        layer = self.take(Affine)
        assert isinstance(layer, Affine)
        channels = x.shape[0]
        if layer.scale.size != channels:
            raise ConversionError(f"affine {self.index - 1}: {layer.scale.size} != {channels}")
        # Mul then Add, like dlib; folding into the conv weights would round differently.
        scale = self.g.const("affine_scale", layer.scale.reshape(channels, 1, 1))
        shift = self.g.const("affine_shift", layer.shift.reshape(channels, 1, 1))
        scaled = self.g.node("Mul", [x.name, scale])
        return _Value(self.g.node("Add", [scaled, shift]), x.shape)

    def relu(self, x: _Value) -> _Value:
        self.take(Relu)
        return _Value(self.g.node("Relu", [x.name]), x.shape)

    def pool(self, x: _Value, kind: str) -> _Value:
        layer = self.take(Pool)
        assert isinstance(layer, Pool)
        if layer.kind != kind:
            raise ConversionError(f"pool {self.index - 1}: expected {kind}, found {layer.kind}")
        c, h, w = x.shape
        if layer.is_global:
            return _Value(self.g.node("GlobalAveragePool", [x.name]), (c, 1, 1))
        (kh, kw), (sy, sx), (py, px) = layer.window, layer.stride, layer.padding
        if (py, px) != (0, 0):
            # dlib's average pool excludes padding from the count; unused by this network.
            raise ConversionError("padded pooling is not supported")
        op = "MaxPool" if kind == "max" else "AveragePool"
        out = self.g.node(op, [x.name], kernel_shape=[kh, kw], strides=[sy, sx])
        return _Value(out, (c, _window_out(h, kh, sy, 0), _window_out(w, kw, sx, 0)))

    def pad_to(self, x: _Value, shape: tuple[int, int, int]) -> _Value:
        if x.shape == shape:
            return x
        extra = [target - have for target, have in zip(shape, x.shape, strict=True)]
        pads = np.asarray([0, 0, 0, 0, 0, *extra], dtype=np.int64)  # all at the end
        return _Value(self.g.node("Pad", [x.name, self.g.const("pads", pads)]), shape)

    def add_prev(self, a: _Value, b: _Value) -> _Value:
        self.take(AddPrev)
        shape = (
            max(a.shape[0], b.shape[0]),
            max(a.shape[1], b.shape[1]),
            max(a.shape[2], b.shape[2]),
        )
        a, b = self.pad_to(a, shape), self.pad_to(b, shape)
        return _Value(self.g.node("Add", [a.name, b.name]), shape)

    def block(self, x: _Value, channels: int, stride: int) -> _Value:
        y = self.relu(self.affine(self.conv(x, channels, stride)))
        return self.affine(self.conv(y, channels, 1))

    def convert(self, size: int) -> onnx.ModelProto:
        x = _Value(INPUT_NAME, (3, size, size))
        x = self.pool(self.relu(self.affine(self.conv(x, 32, 2))), "max")
        for kind, channels in _BLOCKS:
            if kind == "res":
                x = self.relu(self.add_prev(self.block(x, channels, 1), x))
            else:
                branch = self.block(x, channels, 2)
                pooled = self.pool(x, "avg")
                x = self.relu(self.add_prev(pooled, branch))
        x = self.pool(x, "avg")
        if x.shape[1:] != (1, 1):
            raise ConversionError(f"global pool gave {x.shape}")
        flat = self.g.node("Flatten", [x.name], axis=1)
        fc = self.take(FullyConnected)
        assert isinstance(fc, FullyConnected)
        if fc.weights.shape != (x.shape[0], EMBEDDING_SIZE):
            raise ConversionError(f"fc weights {fc.weights.shape}")
        weights = self.g.const("fc_w", fc.weights)
        if fc.bias is None:
            self.g.node("MatMul", [flat, weights], output=OUTPUT_NAME)
        else:
            product = self.g.node("MatMul", [flat, weights])
            self.g.node("Add", [product, self.g.const("fc_b", fc.bias)], output=OUTPUT_NAME)
        if self.index != len(self.layers):
            raise ConversionError(f"{len(self.layers) - self.index} layers left unconverted")

        graph = helper.make_graph(
            self.g.nodes,
            "dlib_face_recognition_resnet_model_v1",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, size, size])],
            [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", EMBEDDING_SIZE])],
            initializer=self.g.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name="pinchpoint.dlib_resnet",
            producer_version=CONVERTER_VERSION,
            doc_string=(
                "dlib face-recognition ResNet v1 (Davis King, CC0), converted from "
                "face_recognition_models' dlib_face_recognition_resnet_model_v1.dat"
            ),
        )
        helper.set_model_props(
            model,
            {
                "colour_order": "RGB",
                "embedding_normalised": "false",
                "input_layout": "NCHW",
                "input_mean": ",".join(f"{m:g}" for m in INPUT_MEAN_RGB),
                "input_scale": repr(INPUT_SCALE),
                "input_size": f"{size}x{size}",
                "match_distance_dlib": "0.6",
            },
        )
        return model


def build_resnet_onnx(network: DlibNetwork | None = None) -> onnx.ModelProto:
    """The ONNX model of dlib's ResNet (parsed from its package when ``network`` is None)."""
    net = network if network is not None else load_resnet()
    if net.layer_versions != expected_layer_versions():
        raise ConversionError("the layer structure is not dlib's face-recognition anet_type")
    if net.input.rows != CHIP_SIZE or net.input.cols != CHIP_SIZE:
        raise ConversionError(f"input size {net.input.rows}x{net.input.cols}")
    stored_mean = tuple(np.float32(m) for m in net.input.mean_rgb)
    if stored_mean != tuple(np.float32(m) for m in INPUT_MEAN_RGB):
        raise ConversionError(f"input means {net.input.mean_rgb} differ from {INPUT_MEAN_RGB}")
    model = _Converter(net).convert(CHIP_SIZE)
    onnx.checker.check_model(model, full_check=True)
    return model


def resnet_onnx_bytes(network: DlibNetwork | None = None) -> bytes:
    """Serialized :func:`build_resnet_onnx`: the same bytes every time for the same input."""
    data: bytes = build_resnet_onnx(network).SerializeToString(deterministic=True)
    return data
