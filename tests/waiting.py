"""Waiting for a state another task or process updates: a bounded poll of the condition itself.

A test that sleeps a fixed time and then asserts races whatever it waits for (a loaded CI
machine is slower); one that waits for the condition with a deadline is as fast as the
machine allows and fails only when the state never comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "",
                every: float = 0.01) -> None:
    """Return once ``condition()`` is true, asking every ``every`` seconds (longer for a
    condition that costs a request); fail the test after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"not reached within {timeout} s: {what or condition}") from None


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "",
               every: float = 0.01) -> None:
    """:func:`until` for a test's own thread, with no loop of its own running (the state
    changes in a server thread)."""
    asyncio.run(until(condition, timeout, what, every))
