"""The numeric ranges settings are declared with, so that ``pinchpoint config check`` refuses
an out-of-range value by its key (exit 2) instead of the process failing, or crash-looping,
when the value is first used. Every int and float setting of the kernel and of every
registered adapter carries one (``tests/kernel/test_config_bounds.py``); NaN never passes a
bound."""

from __future__ import annotations

from typing import Annotated

import msgspec

Count = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
"""How many of something, at least one (workers, batch size, queue lengths, connections)."""
Size = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
"""How many, where none is meaningful (a queue that admits no waiting job)."""
Seconds = Annotated[float, msgspec.Meta(gt=0.0, le=7 * 86_400.0)]
"""A positive duration: an interval, a timeout, a delay (zero would spin or never wait)."""
WholeSeconds = Annotated[int, msgspec.Meta(ge=1, le=7 * 86_400)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65_535)]
Pixels = Annotated[int, msgspec.Meta(ge=16, le=16_384)]
"""A width or height in pixels (an image, a model input)."""
Bytes = Annotated[int, msgspec.Meta(ge=1, le=1 << 34)]
Dimensions = Annotated[int, msgspec.Meta(ge=1, le=65_536)]
"""A template's length."""
Held = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
"""Items held in memory while they cannot be written (each may be tens of kilobytes)."""
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Degrees = Annotated[float, msgspec.Meta(ge=0.0, le=90.0)]
