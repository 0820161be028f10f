"""A reader of dlib's binary serialization, enough to load dlib's face-recognition ResNet.

dlib writes a network from the loss layer inwards: each layer writes its version number and
then its sub-network *before* its own data, so the file holds the loss layer's data, then the
version numbers of every layer (output to input), then the input layer, then each layer's data
from input to output. Tag and skip layers store nothing but their version number, so the
wiring of residual branches is not in the file: :mod:`modelkit.dlib_resnet` takes it
from dlib's ``anet_type`` and checks it against :attr:`DlibNetwork.layer_versions`.

Encodings (dlib ``serialize.h``, as the code does it, not as its comments say):

* integer: a control byte (low 4 bits: number of value bytes, bit 0x80: negative), then the
  magnitude little-endian; zero is ``01 00``;
* float / double: a mantissa integer then an exponent integer, value = m·2^e;
* bool: ASCII ``'1'`` or ``'0'``; string: a length integer, then the bytes;
* tensor: version 2, dimensions (n, k, nr, nc), then n·k·nr·nc little-endian float32;
* alias tensor (a view into a layer's parameter tensor): version 1, then (n, k, nr, nc).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

#: File name of the recognizer inside the ``face_recognition_models`` package.
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"

# Version numbers dlib's core.h writes for the layer containers.
_ADD_LAYER_VERSION = 2  # an ordinary computational layer
_TAG_OR_SKIP_VERSION = 1  # tagN / skipN: no data of their own
_INPUT_ADD_LAYER_VERSION = 3  # the computational layer that sits on the input layer


class DlibFormatError(ValueError):
    """The bytes are not what a dlib network file of the expected kind holds."""


@dataclass(frozen=True, slots=True)
class LossMetric:
    """``loss_metric_``: training-time margin and the distance dlib uses as a match threshold."""

    margin: float
    distance_threshold: float


@dataclass(frozen=True, slots=True)
class InputRGB:
    """``input_rgb_image_sized``: per-channel means (R, G, B) subtracted before dividing by 256."""

    mean_rgb: tuple[float, float, float]
    rows: int
    cols: int


@dataclass(frozen=True, slots=True)
class Conv:
    """``con_``: weights (out, in, kh, kw), a bias per output channel, stride and zero padding."""

    weights: FloatArray
    bias: FloatArray
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Affine:
    """``affine_`` in per-channel mode: batch norm already folded to ``x * scale + shift``."""

    scale: FloatArray
    shift: FloatArray


@dataclass(frozen=True, slots=True)
class Relu:
    """``relu_``."""


@dataclass(frozen=True, slots=True)
class Pool:
    """``max_pool_`` / ``avg_pool_``; a window of 0 means "the whole input" (global pooling)."""

    kind: str  # "max" or "avg"
    window: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    @property
    def is_global(self) -> bool:
        """True for dlib's ``*_pool_everything`` (window 0 × 0)."""
        return self.window == (0, 0)


@dataclass(frozen=True, slots=True)
class AddPrev:
    """``add_prev_``: adds a tagged earlier output; the tag id is not stored in the file."""


@dataclass(frozen=True, slots=True)
class FullyConnected:
    """``fc_``: weights stored (inputs, outputs) so that ``y = x @ weights (+ bias)``."""

    weights: FloatArray
    bias: FloatArray | None


Layer = Conv | Affine | Relu | Pool | AddPrev | FullyConnected


@dataclass(frozen=True, slots=True)
class DlibNetwork:
    """A parsed dlib network: the loss, the input and the computational layers input→output."""

    loss: LossMetric
    layer_versions: tuple[int, ...]  # output→input, as written: 2 = layer, 1 = tag/skip, 3 = first
    input: InputRGB
    layers: tuple[Layer, ...]

    @property
    def parameter_count(self) -> int:
        """Number of trained parameters (weights, biases, scales, shifts)."""
        total = 0
        for layer in self.layers:
            if isinstance(layer, Conv):
                total += layer.weights.size + layer.bias.size
            elif isinstance(layer, Affine):
                total += layer.scale.size + layer.shift.size
            elif isinstance(layer, FullyConnected):
                total += layer.weights.size + (0 if layer.bias is None else layer.bias.size)
        return total


def model_file(name: str) -> Path:
    """A file of the ``face_recognition_models`` package's ``models`` folder.

    Found without importing the package: its ``__init__`` imports ``pkg_resources``, which
    current setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the face_recognition_models package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def resnet_model_bytes() -> bytes:
    """The recognizer's ``.dat`` file from the ``face_recognition_models`` package."""
    return model_file(RESNET_FILE).read_bytes()


class DlibReader:
    """Sequential reader over the file's bytes; every read checks it stays inside them."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.pos = 0

    def _take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self._data):
            raise DlibFormatError(f"unexpected end of data at byte {self.pos} (wanted {count})")
        chunk = self._data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def at_end(self) -> bool:
        return self.pos == len(self._data)

    def read_int(self) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise DlibFormatError(f"bad integer control byte {control:#04x} at {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def read_float(self) -> float:
        mantissa = self.read_int()
        exponent = self.read_int()
        return math.ldexp(mantissa, exponent)

    def read_ints(self, count: int) -> npt.NDArray[np.int64]:
        """``count`` consecutive integers, as :meth:`read_int` would read them one by one.

        One tight loop instead of a method call per value: the shape predictor's file holds
        3.2 M integers, which ``read_int`` takes ~3 s to read and this ~1 s.
        """
        data, pos, end = self._data, self.pos, len(self._data)
        values = [0] * count
        from_bytes = int.from_bytes
        for i in range(count):
            if pos >= end:
                raise DlibFormatError(f"unexpected end of data at byte {pos} (wanted an integer)")
            control = data[pos]
            size = control & 0x0F
            if size == 0 or size > 8 or control & 0x70:
                raise DlibFormatError(f"bad integer control byte {control:#04x} at {pos}")
            if pos + 1 + size > end:
                raise DlibFormatError(f"unexpected end of data at byte {pos + 1} (wanted {size})")
            value = from_bytes(data[pos + 1 : pos + 1 + size], "little")
            values[i] = -value if control & 0x80 else value
            pos += 1 + size
        self.pos = pos
        return np.asarray(values, dtype=np.int64)

    def read_floats(self, count: int) -> npt.NDArray[np.float64]:
        """``count`` consecutive floats (mantissa, exponent pairs), as float64."""
        pairs = self.read_ints(2 * count).reshape(count, 2)
        if count and int(np.abs(pairs[:, 1]).max()) >= 32000:
            # dlib marks inf / NaN with exponents 32000+; no trained model holds them.
            raise DlibFormatError(f"non-finite float near byte {self.pos}")
        return np.ldexp(pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.int32))

    def read_bool(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {char!r} at {self.pos - 1}")
        return char == b"1"

    def read_string(self) -> str:
        length = self.read_int()
        return self._take(length).decode("ascii")

    def expect(self, what: str, actual: object, expected: object) -> None:
        if actual != expected:
            raise DlibFormatError(
                f"{what}: expected {expected!r}, found {actual!r} near byte {self.pos}"
            )

    def tensor(self) -> FloatArray:
        self.expect("tensor version", self.read_int(), 2)
        dims = tuple(self.read_int() for _ in range(4))
        count = math.prod(dims)
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        self.expect("alias tensor version", self.read_int(), 1)
        n, k, nr, nc = (self.read_int() for _ in range(4))
        return n, k, nr, nc


_Reader = DlibReader  # the name the format tests know it by


def _read_layer(reader: DlibReader) -> Layer:
    kind = reader.read_string()
    if kind == "con_4":
        params = reader.tensor().reshape(-1)
        num_filters, nr, nc = reader.read_int(), reader.read_int(), reader.read_int()
        stride = (reader.read_int(), reader.read_int())
        padding = (reader.read_int(), reader.read_int())
        filters = reader.alias_tensor()
        biases = reader.alias_tensor()
        for _ in range(4):  # learning-rate and weight-decay multipliers: training only
            reader.read_float()
        reader.expect("conv filter count", filters[0], num_filters)
        reader.expect("conv kernel", (filters[2], filters[3]), (nr, nc))
        reader.expect("conv bias shape", biases, (1, num_filters, 1, 1))
        n_weights = math.prod(filters)
        reader.expect("conv parameter count", params.size, n_weights + num_filters)
        return Conv(
            weights=params[:n_weights].reshape(filters).copy(),
            bias=params[n_weights:].copy(),
            stride=stride,
            padding=padding,
        )
    if kind == "affine_":
        params = reader.tensor().reshape(-1)
        gamma = reader.alias_tensor()
        beta = reader.alias_tensor()
        mode = reader.read_int()
        reader.expect("affine mode (dlib CONV_MODE = 0: per channel)", mode, 0)
        reader.expect("affine shapes", gamma, beta)
        channels = math.prod(gamma)
        reader.expect("affine parameter count", params.size, 2 * channels)
        return Affine(scale=params[:channels].copy(), shift=params[channels:].copy())
    if kind == "relu_":
        return Relu()
    if kind in ("max_pool_2", "avg_pool_2"):
        window = (reader.read_int(), reader.read_int())
        stride = (reader.read_int(), reader.read_int())
        padding = (reader.read_int(), reader.read_int())
        return Pool(kind=kind[:3], window=window, stride=stride, padding=padding)
    if kind == "add_prev_":
        return AddPrev()
    if kind == "fc_2":
        num_outputs, num_inputs = reader.read_int(), reader.read_int()
        params = reader.tensor().reshape(-1)
        weights = reader.alias_tensor()
        biases = reader.alias_tensor()
        bias_mode = reader.read_int()  # dlib: FC_HAS_BIAS = 0, FC_NO_BIAS = 1
        for _ in range(4):
            reader.read_float()
        reader.expect("fc weight shape", weights, (num_inputs, num_outputs, 1, 1))
        n_weights = num_inputs * num_outputs
        w = params[:n_weights].reshape(num_inputs, num_outputs).copy()
        if bias_mode == 1:
            reader.expect("fc parameter count", params.size, n_weights)
            return FullyConnected(weights=w, bias=None)
        reader.expect("fc bias shape", biases, (1, num_outputs, 1, 1))
        return FullyConnected(weights=w, bias=params[n_weights:].copy())
    raise DlibFormatError(f"unsupported dlib layer {kind!r} near byte {reader.pos}")


def _skip_layer_state(reader: DlibReader) -> None:
    """The bools and cached tensors every ``add_layer`` writes after its details."""
    for _ in range(3):
        reader.read_bool()
    for _ in range(3):
        reader.expect("cached tensor size", reader.tensor().size, 0)


def parse_network(data: bytes) -> DlibNetwork:
    """Parse a dlib ``loss_metric`` network with an ``input_rgb_image_sized`` input.

    Raises :class:`DlibFormatError` when anything is unexpected, including bytes left over
    after the last layer (a parser that stops early is a parser that misread something).
    """
    reader = DlibReader(data)
    reader.expect("loss container version", reader.read_int(), 1)
    reader.expect("loss layer", reader.read_string(), "loss_metric_2")
    loss = LossMetric(margin=reader.read_float(), distance_threshold=reader.read_float())

    versions: list[int] = []
    while True:
        version = reader.read_int()
        versions.append(version)
        if version == _INPUT_ADD_LAYER_VERSION:
            break
        if version not in (_ADD_LAYER_VERSION, _TAG_OR_SKIP_VERSION):
            raise DlibFormatError(f"unexpected layer version {version} near byte {reader.pos}")

    reader.expect("input layer", reader.read_string(), "input_rgb_image_sized")
    red, green, blue = reader.read_float(), reader.read_float(), reader.read_float()
    rows, cols = reader.read_int(), reader.read_int()
    input_layer = InputRGB(mean_rgb=(red, green, blue), rows=rows, cols=cols)

    layers = [_read_layer(reader)]
    _skip_layer_state(reader)
    reader.expect("sample expansion factor", reader.read_int(), 1)
    for _ in range(versions.count(_ADD_LAYER_VERSION)):
        layers.append(_read_layer(reader))
        _skip_layer_state(reader)

    if not reader.at_end():
        raise DlibFormatError(f"{len(data) - reader.pos} bytes left after the last layer")
    return DlibNetwork(
        loss=loss, layer_versions=tuple(versions), input=input_layer, layers=tuple(layers)
    )


def load_resnet(path: Path | None = None) -> DlibNetwork:
    """Parse dlib's face-recognition ResNet (from ``path``, or from its package)."""
    data = path.read_bytes() if path is not None else resnet_model_bytes()
    return parse_network(data)
