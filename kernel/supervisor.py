"""Supervised tasks: a crashed adapter is restarted with exponential backoff, the rest go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

import msgspec

from kernel.clock import Clock, SystemClock

log = logging.getLogger("pinchpoint.supervisor")


class TaskState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"


class Backoff(msgspec.Struct, frozen=True):
    """Restart delays: ``initial`` doubling up to ``maximum``; reset after ``stable`` seconds
    of running without a crash. ``max_restarts`` in a row (0 = no limit) before giving up."""

    initial: float = 0.5
    maximum: float = 30.0
    stable: float = 60.0
    max_restarts: int = 0

    def delay(self, attempt: int) -> float:
        return float(min(self.maximum, self.initial * (2 ** max(0, attempt - 1))))


class TaskStatus(msgspec.Struct):
    """What anyone may see about a supervised task (shown in health endpoints and the CLI)."""

    name: str
    state: TaskState = TaskState.STARTING
    restarts: int = 0
    last_error: str | None = None
    next_delay: float = 0.0


class Finished(Exception):
    """Raised inside a supervised body to end it for good without a restart."""


class Supervisor:
    """Owns long-running tasks; restarts crashed ones; stops all of them on ``close()``."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.status: dict[str, TaskStatus] = {}

    def spawn(
        self,
        name: str,
        body: Callable[[], Awaitable[None]],
        backoff: Backoff | None = None,
        restart: bool = True,
    ) -> TaskStatus:
        """Run ``body()`` as task ``name``; if it raises, call it again after a backoff.

        ``body`` returning normally or raising :class:`Finished` ends the task (FINISHED).
        """
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already supervised")
        status = TaskStatus(name=name)
        self.status[name] = status
        self._tasks[name] = asyncio.create_task(
            self._run(status, body, backoff or Backoff(), restart), name=f"supervised:{name}"
        )
        return status

    async def _run(
        self,
        status: TaskStatus,
        body: Callable[[], Awaitable[None]],
        backoff: Backoff,
        restart: bool,
    ) -> None:
        attempt = 0
        while True:
            started = self._clock.monotonic()
            status.state = TaskState.RUNNING
            try:
                await body()
            except asyncio.CancelledError:
                status.state = TaskState.STOPPED
                raise
            except Finished:
                status.state = TaskState.FINISHED
                return
            except Exception as exc:
                status.last_error = f"{type(exc).__name__}: {exc}"
                if self._clock.monotonic() - started >= backoff.stable:
                    attempt = 0
                attempt += 1
                if not restart or (backoff.max_restarts and attempt > backoff.max_restarts):
                    status.state = TaskState.FAILED
                    log.error("task %s failed for good: %s", status.name, status.last_error)
                    return
                status.restarts += 1
                status.next_delay = backoff.delay(attempt)
                status.state = TaskState.RESTARTING
                log.warning(
                    "task %s crashed (%s); restart %d in %.1fs",
                    status.name,
                    status.last_error,
                    status.restarts,
                    status.next_delay,
                )
                await asyncio.sleep(status.next_delay)
            else:
                status.state = TaskState.FINISHED
                return

    async def wait(self) -> None:
        """Wait until every task has ended by itself."""
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self, grace: float = 4.0) -> None:
        """Cancel every task and wait for them (bounded), so shutdown stays within limits."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                log.error("task %s did not stop within %.1fs", task.get_name(), grace)
        self._tasks.clear()
