"""An HTTP ``Retry-After`` value (RFC 9110 §10.2.3) as seconds to wait, for the Web Push sink."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_LONGEST = 366 * 24 * 3600


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` the header asks to wait: a delay in seconds or an HTTP date.

    None when the header is absent or malformed (a bad header is ignored, not obeyed nor
    fatal); 0.0 for a date in the past. Bounding a huge value is the dispatcher's job.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        # 400 nines would overflow float(); anything past a year is "very long" anyway.
        return float(min(int(text), _LONGEST)) if len(text) < 12 else float(_LONGEST)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
