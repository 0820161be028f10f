"""A bounded pool for CPU work, so the event loop never runs inference or image work."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BoundedExecutor:
    """A thread pool with at most ``workers`` threads and ``workers + queue`` jobs admitted.

    Callers beyond that wait (asynchronously) for a place instead of piling work into an
    unbounded queue: back-pressure reaches the stage that produced the work, which then drops
    frames rather than grow memory. onnxruntime and OpenCV release the GIL, so threads give
    real parallelism for the heavy parts.
    """

    def __init__(self, workers: int = 2, queue: int = 2, name: str = "pinchpoint-cpu") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._admitted = asyncio.Semaphore(workers + max(0, queue))
        self._closed = False

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` in the pool and return its result."""
        if self._closed:
            raise RuntimeError("executor is shut down")
        async with self._admitted:
            loop = asyncio.get_running_loop()
            ctx = contextvars.copy_context()
            call = functools.partial(ctx.run, fn, *args, **kwargs)
            return await loop.run_in_executor(self._pool, call)

    @property
    def saturated(self) -> bool:
        """True when a new job would have to wait for a place."""
        return self._admitted.locked()

    def shutdown(self) -> None:
        """Stop accepting work and wait for running jobs (they are short)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
