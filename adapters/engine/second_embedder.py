"""A second recognizer fused with the first: its settings and its chip slot.

dlib's ResNet (128-d, 150×150) finds the right person first 86–88 % of the time on unseen
faces but loses most of them at the threshold (issue 10). A second network trained on other
data fails on other faces, so the two descriptors are joined: the template is

    [√(β(1−w))·d₁, √(βw)·d₂, √(1−β)]      (d₁, d₂ L2-normalised, β = ``descriptor_share``)

whose cosine is ``1 − β·(1 − ((1−w)·cos₁ + w·cos₂))``: the weighted mean of the two models'
cosines, mapped onto the single model's scale so that the thresholds, the R3 safety floor and
every setting written in dlib's scale keep their meaning (the fused score at FPIR 0.1 %,
≈ 0.74, lands at ≈ 0.958 as dlib's did). The mapping is monotone: it changes no ranking and
no FPIR, only where the numbers sit.

The default second model is ``fr_feature.onnx`` of the npm package
``faceplugin-face-recognition-js`` 0.0.1 (MIT; 512-d, 112×112 RGB ``(x − 127)/128``, ArcFace
template, its batch fixed at one row). Measured on the development halves (TPIR at FPIR
≤ 0.1 % over all mated probes, thresholds fitted per run; CFP 100 listed / 1,050 others, LFW
773 / 1,361): dlib alone 44.8 % / 59.8 %, this model alone 56.0 % / 82.2 %, fused at
w = 0.5 55.4 % / 82.4 % (at zero false matches 51.2 % / 82.1 %, against dlib's 39.0 % /
58.3 %); w = 0.8 gave 57.0 % / 83.4 %, w = 0.2 54.0 % / 86.8 %: 0.5 is the balance between the
sets. Its chip is cut by the 3-point ``eyes_mouth`` fit to the ArcFace template (what the
package's own code does): 1–3 points better on CFP than the 5-point fit at every w.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import numpy as np

from adapters.engine.alignment import ARCFACE112_TEMPLATE, AlignmentConfig
from adapters.engine.model_store import SECOND_MODEL_NAME
from kernel.bounds import Fraction

PixelValue = Annotated[float, msgspec.Meta(ge=-1e4, le=1e4)]


ARCFACE112 = AlignmentConfig(method="eyes_mouth", width=112, height=112,
                             template=ARCFACE112_TEMPLATE)
"""The second model's chip: the 3-point fit to the 112×112 ArcFace template."""


class SecondEmbedderSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[engine.second_embedder]``: a second ONNX recognizer fused with the first.

    ``weight`` is ``w`` above (0 turns the second model off: the template is the first
    model's alone, as before). ``descriptor_share`` is ``β``: lower it and scores crowd
    towards 1. Its chip (``alignment``, at most as large as the first model's) is carried in
    one more view slot of the engine's chip, at its top-left. ``mirror`` adds the descriptor
    of the mirrored chip as the first model's does. ``sha256`` pins a file that is not in the
    models manifest.
    """

    file: str = SECOND_MODEL_NAME
    sha256: str | None = None
    weight: Fraction = 0.5
    descriptor_share: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] = 0.16
    alignment: AlignmentConfig = ARCFACE112
    colour: Literal["rgb", "bgr"] = "rgb"
    layout: Literal["nchw", "nhwc"] = "nchw"
    mean: tuple[PixelValue, PixelValue, PixelValue] = (127.0, 127.0, 127.0)
    scale: Annotated[float, msgspec.Meta(gt=0.0, le=1e3)] = 1.0 / 128.0
    mirror: bool = False  # measured with the first model's mirror: see EmbedderSettings

    def __post_init__(self) -> None:
        if self.alignment.fuse_with is not None or self.alignment.method == "dlib5":
            raise ValueError("second_embedder.alignment cuts one template view "
                             "(eyes_mouth, template5 or eyes), not dlib5 or a fused pair")

    @property
    def enabled(self) -> bool:
        """Whether the second model takes part (``weight`` above 0)."""
        return self.weight > 0.0


def in_slot(chip: np.ndarray, width: int, height: int) -> np.ndarray:
    """``chip`` at the top-left of a zeroed ``height``×``width`` slot (the engine's views
    are all one size, so a smaller chip travels padded and is cut out again)."""
    slot = np.zeros((height, width, 3), np.uint8)
    slot[: chip.shape[0], : chip.shape[1]] = chip
    return slot


def fuse(first: np.ndarray, second: np.ndarray, settings: SecondEmbedderSettings) -> np.ndarray:
    """The fused templates of L2-normalised (n, d₁) and (n, d₂) descriptors: (n, d₁+d₂+1),
    unit length (see the module docstring)."""
    beta, w = settings.descriptor_share, settings.weight
    n = first.shape[0]
    out = np.concatenate([
        np.sqrt(beta * (1.0 - w)) * first,
        np.sqrt(beta * w) * second,
        np.full((n, 1), np.sqrt(1.0 - beta)),
    ], axis=1)
    return np.ascontiguousarray(out, dtype=np.float32)
