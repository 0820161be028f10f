"""The re-encoder on its own (issue 12, finding 10): safe without the engine's checks in
front of it, and the type sniffer that serves stored images."""

from __future__ import annotations

import pytest

from kernel.images.image_type import JPEG, PNG, UNKNOWN, WEBP, sniff
from kernel.images.reencode import MAX_PIXELS, reencode_upload
from kernel.images.upload_decode import UnusableImage
from tests.mobile_api import upload_images as u


def test_issue12_finding10_reencoder_refuses_a_bomb_before_decoding_it() -> None:
    bomb = u.png_bomb(10_000, MAX_PIXELS // 10_000 + 1)
    assert len(bomb) < 200_000
    with pytest.raises(UnusableImage) as refused:
        reencode_upload(bomb)
    assert refused.value.too_large


@pytest.mark.parametrize("data", [u.truncated(), u.html_with_jpeg_magic(), b"", b"GIF89a"])
def test_issue12_finding10_reencoder_refuses_what_is_not_a_whole_image(data: bytes) -> None:
    with pytest.raises(UnusableImage) as refused:
        reencode_upload(data)
    assert not refused.value.too_large


def test_issue12_finding10_sniff_tells_the_stored_types_apart() -> None:
    assert sniff(reencode_upload(u.webp_with_metadata())) == JPEG
    assert sniff(u.encoded("PNG")) == PNG
    assert sniff(u.encoded("WEBP")) == WEBP
    assert sniff(u.POLYGLOT_TAIL) == UNKNOWN and sniff(b"") == UNKNOWN
