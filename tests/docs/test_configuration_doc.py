"""docs/configuration.md names every setting of every shipped config Struct."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from kernel import registry
from kernel.config import (
    LoggingConfig,
    MatchingConfig,
    NodeConfig,
    PipelineConfig,
    RetentionConfig,
    ServerConfig,
    SupervisionConfig,
)
from kernel.pipeline.tracker import TrackerSettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
KERNEL = [ServerConfig, LoggingConfig, PipelineConfig, SupervisionConfig, MatchingConfig,
          RetentionConfig, NodeConfig, TrackerSettings]


def nested(cls: type) -> list[type]:
    out = [cls]
    for field in msgspec.structs.fields(cls):
        if isinstance(field.type, type) and issubclass(field.type, msgspec.Struct):
            out += nested(field.type)
    return out


def shipped() -> list[type]:
    structs = list(KERNEL)
    for name in registry.available():
        structs += nested(registry.load(*name.split(".", 1)).Config)
    return structs


@pytest.mark.parametrize("cls", shipped(), ids=lambda c: c.__qualname__)
def test_every_setting_is_documented(cls: type) -> None:
    # A nested table counts as documented by its header, e.g. ``[engine.detector]``.
    missing = [f.name for f in msgspec.structs.fields(cls)
               if f"`{f.name}`" not in DOC and f".{f.name}]" not in DOC]
    assert not missing, f"{cls.__qualname__}: document {missing} in docs/configuration.md"
