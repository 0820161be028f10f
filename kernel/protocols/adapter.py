"""What every adapter, of any kind, is constructed with."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar

import msgspec

from kernel.clock import Clock
from kernel.delivery.subscriptions import PushSubscriptions
from kernel.executor import BoundedExecutor

T_co = TypeVar("T_co", covariant=True)


class AdapterContext(msgspec.Struct, frozen=True):
    """Handed to every adapter's constructor.

    - ``name``: the instance name from config (a camera's id, or the adapter's type).
    - ``data_dir``: the deployment's data directory; adapters that persist write only below it.
    - ``executor``: the bounded pool for CPU work; never run CPU work on the event loop.
    - ``clock``: use it instead of ``time``/``datetime`` so tests can move time.
    - ``log``: a logger already named for this adapter. Never log anything that identifies a
      face (R3): no crops, templates, scores of non-matches, or names.
    - ``push_subscriptions``: for sinks, the officers' devices' Web Push subscriptions (the
      store's); ``None`` for other kinds. A sink that wakes devices reads them here.
    """

    name: str
    data_dir: Path
    executor: BoundedExecutor
    clock: Clock
    log: logging.Logger
    push_subscriptions: PushSubscriptions | None = None


class AdapterClass(Protocol[T_co]):
    """The class-level contract: a typed ``Config`` and a ``(config, context)`` constructor
    returning an adapter of the seam ``T_co`` (what :func:`kernel.registry.load` hands out)."""

    Config: ClassVar[type[msgspec.Struct]]

    def __call__(self, config: msgspec.Struct, context: AdapterContext, /) -> T_co: ...
