"""What every adapter, of any kind, is constructed with."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Protocol

import msgspec

from kernel.clock import Clock
from kernel.executor import BoundedExecutor


class AdapterContext(msgspec.Struct, frozen=True):
    """Handed to every adapter's constructor.

    - ``name``: the instance name from config (a camera's id, or the adapter's type).
    - ``data_dir``: the deployment's data directory; adapters that persist write only below it.
    - ``executor``: the bounded pool for CPU work; never run CPU work on the event loop.
    - ``clock``: use it instead of ``time``/``datetime`` so tests can move time.
    - ``log``: a logger already named for this adapter. Never log anything that identifies a
      face (R3): no crops, templates, scores of non-matches, or names.
    """

    name: str
    data_dir: Path
    executor: BoundedExecutor
    clock: Clock
    log: logging.Logger


class AdapterClass(Protocol):
    """The class-level contract: a typed ``Config`` and a ``(config, context)`` constructor."""

    Config: ClassVar[type[msgspec.Struct]]

    def __call__(self, config: Any, context: AdapterContext) -> Any: ...
