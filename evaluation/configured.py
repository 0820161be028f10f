"""The engine an evaluation measures: the one ``config.toml`` runs, plus named overrides.

``pinchpoint eval`` used to build the engine from its defaults, so what it calibrated was not
what ran. Here the ``[engine]`` section of the same config file ``pinchpoint run`` reads is
decoded exactly as the runtime decodes it, then each override (``--alignment``,
``--mirror``/``--no-mirror``, ``--engine-set quality.enrol.min_face_px=40``) is applied and
*named*, so every report says which engine it measured and how it differed from the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from evaluation.pipeline import make_engine
from kernel.config import Config
from kernel.errors import ConfigError


class ConfiguredEngine(msgspec.Struct, frozen=True):
    """What an evaluation was run on: the config file, the overrides, the match threshold."""

    config_path: str
    overrides: tuple[str, ...]
    threshold: float
    """``[matching] threshold`` of the file: the still-image operating point that runs."""
    track_threshold: float | None
    models_dir: str


def _parse_value(text: str) -> Any:
    """A TOML-ish scalar or list: JSON when it parses (numbers, true/false, lists), else text."""
    try:
        return msgspec.json.decode(text.encode())
    except msgspec.DecodeError:
        return text


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    keys = dotted.split(".")
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            raise ConfigError(f"--engine-set {dotted}: engine.{key} is not a table")
        node = child
    if keys[-1] not in node:
        raise ConfigError(f"--engine-set {dotted}: engine has no setting {dotted!r}")
    node[keys[-1]] = value


def engine_settings(
    config: Config,
    *,
    alignment: str | None = None,
    mirror: bool | None = None,
    assignments: Sequence[str] = (),
) -> tuple[OnnxEngineConfig, tuple[str, ...]]:
    """The ``[engine]`` settings of ``config`` with the overrides applied, and their names.

    Raises :class:`ConfigError` (exit 2, naming the key) when the config has no ``onnx``
    engine or an override names a setting that does not exist or has the wrong type."""
    section = config.engine
    if section is None or not isinstance(section.settings, OnnxEngineConfig):
        raise ConfigError("the config has no [engine] of type 'onnx' to evaluate")
    tree: dict[str, Any] = msgspec.to_builtins(section.settings)
    named: list[str] = []
    if alignment is not None:
        # One method alone; fusing two is ``--engine-set alignment.fuse_with=…``.
        tree["alignment"]["method"] = alignment
        tree["alignment"]["fuse_with"] = None
        named.append(f"alignment.method={alignment}")
    if mirror is not None:
        tree["embedder"]["mirror"] = mirror
        named.append(f"embedder.mirror={str(mirror).lower()}")
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--engine-set {item!r}: expected KEY=VALUE")
        value = _parse_value(raw.strip())
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"--engine-set {item!r}: the value must be finite")
        _set(tree, key.strip(), value)
        named.append(f"{key.strip()}={raw.strip()}")
    try:
        settings = msgspec.convert(tree, OnnxEngineConfig)
    except (msgspec.ValidationError, ValueError) as exc:
        raise ConfigError(f"--engine-set: {exc}") from None
    return settings, tuple(named)


def models_dir_of(config: Config, settings: OnnxEngineConfig) -> Path:
    """Where the engine of ``config`` reads its models (``models_dir`` under ``data_dir``)."""
    path = Path(settings.models_dir)
    return path if path.is_absolute() else config.data_dir / path


def configured_engine(
    config: Config,
    config_path: Path,
    *,
    alignment: str | None = None,
    mirror: bool | None = None,
    assignments: Sequence[str] = (),
    models_dir: Path | None = None,
) -> tuple[OnnxEngine, ConfiguredEngine]:
    """The engine ``pinchpoint run`` would build from ``config``, with the overrides, and the
    record of what it is. ``models_dir`` replaces the config's model store (tests)."""
    settings, named = engine_settings(
        config, alignment=alignment, mirror=mirror, assignments=assignments
    )
    store = models_dir or models_dir_of(config, settings)
    engine = make_engine(store, config=settings)
    return engine, ConfiguredEngine(
        config_path=str(config_path),
        overrides=named,
        threshold=config.matching.threshold,
        track_threshold=config.matching.track_threshold,
        models_dir=str(store),
    )
