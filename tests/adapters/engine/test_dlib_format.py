"""The reader of dlib's serialization, on the real recognizer file (R2: the template step)."""

from __future__ import annotations

from collections import Counter

import pytest

from adapters.engine.dlib_format import (
    Conv,
    DlibFormatError,
    DlibNetwork,
    FullyConnected,
    Pool,
    _Reader,
    load_resnet,
    parse_network,
    resnet_model_bytes,
)


@pytest.fixture(scope="module")
def network() -> DlibNetwork:
    return load_resnet()


def test_integers_floats_bools_strings_decode_as_dlib_writes_them() -> None:
    reader = _Reader(
        b"\x01\x00" b"\x81\x05" b"\x02\x00\x01" b"\x01\x03\x81\x01" b"10" b"\x01\x02hi"
    )
    assert reader.read_int() == 0
    assert reader.read_int() == -5
    assert reader.read_int() == 256
    assert reader.read_float() == 1.5  # mantissa 3, exponent -1
    assert reader.read_bool() is True
    assert reader.read_bool() is False
    assert reader.read_string() == "hi"
    assert reader.at_end()


def test_recognizer_parses_to_its_last_byte_with_dlibs_layer_counts(network: DlibNetwork) -> None:
    """R2: 29 conv, 29 affine, 29 relu, 14 adds, 1 max + 5 avg pools, 1 fc; 5.61 M parameters."""
    counts = Counter(type(layer).__name__ for layer in network.layers)
    assert counts == {"Conv": 29, "Affine": 29, "Relu": 29, "AddPrev": 14, "Pool": 6,
                      "FullyConnected": 1}
    assert network.parameter_count == 5_614_592
    pools = [layer for layer in network.layers if isinstance(layer, Pool)]
    assert [p.kind for p in pools] == ["max"] + ["avg"] * 5
    assert pools[-1].is_global
    fc = network.layers[-1]
    assert isinstance(fc, FullyConnected)
    assert fc.weights.shape == (256, 128) and fc.bias is None
    first = network.layers[0]
    assert isinstance(first, Conv)
    assert first.weights.shape == (32, 3, 7, 7) and first.stride == (2, 2)
    assert first.padding == (0, 0)  # dlib: stride-2 layers are not padded
    assert network.input.rows == network.input.cols == 150
    assert network.loss.distance_threshold == pytest.approx(0.6)


def test_truncated_or_padded_files_are_rejected() -> None:
    data = resnet_model_bytes()
    with pytest.raises(DlibFormatError, match="end of data"):
        parse_network(data[:-1])
    with pytest.raises(DlibFormatError, match="bytes left"):
        parse_network(data + b"\x00")
