"""docs/configuration.md names every setting of every shipped config Struct."""

from __future__ import annotations

import re
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


SECTIONS: dict[str, type] = {
    "[server]": ServerConfig, "[logging]": LoggingConfig, "[pipeline]": PipelineConfig,
    "[supervision]": SupervisionConfig, "[matching]": MatchingConfig,
    "[retention]": RetentionConfig, "[node]": NodeConfig, "[matching.tracker]": TrackerSettings}


def documented_defaults() -> list[tuple[str, str, str]]:
    """(section, key, documented default) of every one-number default in the kernel's
    tables: a row names its section, or inherits the one above; ``a``, ``b`` | ``1, 2``
    document two keys."""
    out, section = [], ""
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or set(cells[1]) <= set("- "):
            continue
        section = cells[0].strip("`") or section
        keys = re.findall(r"`([a-z_]+)`", cells[1])
        values = [v.strip() for v in cells[2].split(",")] if len(keys) > 1 else [cells[2]]
        if section in SECTIONS and len(values) == len(keys):
            out += [(section, k, v) for k, v in zip(keys, values, strict=True)
                    if re.match(r"-?[0-9]", v)]
    return out


def test_the_documented_defaults_are_the_codes() -> None:
    # split_below was documented 0.6 for a release after the code moved to 0.85
    rows = documented_defaults()
    assert len(rows) > 20, "the tables' layout changed: this test reads none of them"
    wrong = []
    for section, key, text in rows:
        fields = {f.name: f.default for f in msgspec.structs.fields(SECTIONS[section])}
        number = re.match(r"-?[0-9][0-9_.]*", text)
        assert number is not None
        if key not in fields or float(number.group().replace("_", "")) != fields[key]:
            wrong.append(f"{section} {key}: documented {text!r}, code {fields.get(key)!r}")
    assert not wrong, "docs/configuration.md: " + "; ".join(wrong)
