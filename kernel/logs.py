"""Structured logging: human lines by default, JSON lines with ``--log-format json``.

A guard filter replaces any array or byte string passed as a log argument with a placeholder,
so a careless ``log.debug("%s", chip)`` cannot write face pixels or a template to a log (R3),
and drops the records under ``warning`` of libraries that echo the data they handle (the
database driver's calls with their parameters, Pillow's EXIF tags), whatever level is set.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
REDACTED = "<redacted: binary or array data is never logged>"
DATA_ECHOING = frozenset({"aiosqlite", "PIL", "sqlite3", "multipart", "python_multipart"})
"""Loggers whose debug and info records repeat what passes through them: SQL parameters
(Argon2 hashes, ciphertext of face images), a photo's EXIF, request bodies. Their records
under ``warning`` never reach a handler (issue 12, finding 12)."""


def _redact(value: Any) -> Any:
    if isinstance(value, np.ndarray | bytes | bytearray | memoryview):
        return REDACTED
    return value


class BiometricGuard(logging.Filter):
    """Blanks array and binary arguments and extras before any handler formats them (R3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.split(".")[0] in DATA_ECHOING:
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact(v) for k, v in record.args.items()}
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup(level: str = "info", fmt: Literal["human", "json"] = "human") -> None:
    """Configure the root logger once for the process (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pinchpoint", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._pinchpoint = True  # type: ignore[attr-defined]
    handler.addFilter(BiometricGuard())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Third-party chatter that could echo request bodies stays at warning.
    for noisy in ("aioice", "aiortc", "libav", "httpx", "uvicorn.access", *DATA_ECHOING):
        logging.getLogger(noisy).setLevel(logging.WARNING)
