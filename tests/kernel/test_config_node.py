"""``[node]`` and ``[link]`` (issue 13): a role gets what it needs and refuses what it has no
use for, each by its key; ``--role`` overrides the file; the link key is checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import parse, with_role
from kernel.errors import ConfigError
from kernel.link.cipher import LINK_KEY_ENV, LinkCipher, SealBroken, load_link_key
from tests.nats_server import register_link_adapter

LINK = {"type": "nats", "url": "nats://127.0.0.1:1"}
ENGINE = {"type": "onnx"}
CAMERA = {"id": "gate-1", "type": "file", "path": "x.mp4"}


@pytest.fixture(autouse=True)
def _link_adapter() -> None:
    register_link_adapter()


def test_the_default_is_one_process_with_no_broker() -> None:
    cfg = parse({})
    assert cfg.node.role == "all" and cfg.link is None


@pytest.mark.parametrize(("raw", "says"), [
    ({"node": {"role": "edge"}, "engine": ENGINE}, "node.role: role edge needs a [link]"),
    ({"node": {"role": "edge"}, "link": LINK}, "an edge needs an [engine]"),
    ({"node": {"role": "edge"}, "link": LINK, "engine": ENGINE, "store": {"type": "sqlite"}},
     "config key store: a node of role edge has no store"),
    ({"node": {"role": "edge"}, "link": LINK, "engine": ENGINE,
      "services": [{"type": "http"}]}, "config key services"),
    ({"node": {"role": "console"}, "link": LINK}, "a console needs a [store]"),
    ({"node": {"role": "console"}, "link": LINK, "store": {"type": "sqlite"},
      "cameras": [CAMERA]}, "config key cameras: a node of role console"),
    ({"node": {"role": "hub"}}, "node.role"),
    ({"node": {"id": "edge 1"}}, "node.id"),
    ({"node": {"id": "van-a\n"}}, "node.id"),  # a trailing newline no --console could match
    ({"node": {"id": ""}}, "node.id"),
    ({"node": {"queue": 0}}, "node.queue"),
    ({"node": {"late_after_s": 0}}, "node.late_after_s"),
    ({"node": {"late_after_s": -5.0}}, "node.late_after_s"),
    ({"node": {"late_after_s": 1e9}}, "node.late_after_s"),
    ({"node": {"late_after_s": "ten"}}, "node.late_after_s"),
    ({"link": {**LINK, "max_msgs": 0}}, "link.max_msgs"),
])
def test_a_role_is_refused_without_what_it_needs_or_with_what_it_has_no_use_for(
        raw: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
        parse(raw, environ={})


def test_role_from_the_command_line_overrides_the_file_and_is_checked() -> None:
    cfg = parse({"link": LINK, "engine": ENGINE, "cameras": [CAMERA]}, environ={})
    assert with_role(cfg, "edge").node.role == "edge"
    with pytest.raises(ConfigError, match="a console needs a"):
        with_role(cfg, "console")


def test_the_link_key_comes_from_the_environment_or_its_file(tmp_path: Path) -> None:
    key = tmp_path / "link.key"
    key.write_text("ab" * 32 + "\n")
    assert load_link_key(key, environ={}) == bytes.fromhex("ab" * 32)
    assert load_link_key(None, environ={LINK_KEY_ENV: "cd" * 32}) == bytes.fromhex("cd" * 32)
    with pytest.raises(ConfigError, match="needs a link key"):
        load_link_key(None, environ={})
    with pytest.raises(ConfigError, match="cannot read link key file"):
        load_link_key(tmp_path / "missing.key", environ={})
    key.write_text("short")
    with pytest.raises(ConfigError, match="must be 32 bytes"):
        load_link_key(key, environ={})


def test_a_seal_opens_only_for_its_deployment_purpose_and_message() -> None:
    cipher = LinkCipher(bytes(range(32)))
    for dep in ("dep-a", "dep-b"):  # evidence seals under each deployment's list secret
        cipher.hold(dep, bytes([len(dep)]) * 31 + dep[-1].encode())
    sealed = cipher.seal("evidence", "dep-a", "key-1", b"crops")
    assert cipher.open("evidence", "dep-a", "key-1", sealed) == b"crops"
    for purpose, dep, bound in (("watchlist", "dep-a", "key-1"), ("evidence", "dep-b", "key-1"),
                                ("evidence", "dep-a", "key-2")):
        with pytest.raises(SealBroken):
            cipher.open(purpose, dep, bound, sealed)  # type: ignore[arg-type]
    with pytest.raises(SealBroken):
        LinkCipher(bytes(32)).open("evidence", "dep-a", "key-1", sealed)  # holds no secret
    with pytest.raises(SealBroken):
        cipher.open("evidence", "dep-a", "key-1", b"short")
