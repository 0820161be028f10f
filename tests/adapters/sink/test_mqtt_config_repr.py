"""R1: the MQTT sink's broker password never shows in a repr, a str, a log line or rich."""

from __future__ import annotations

import logging

import msgspec
import pytest
from rich.pretty import pretty_repr

from adapters.sink.mqtt import MqttSink

SECRET = "s3cr3t-broker-pass"


def _config() -> MqttSink.Config:
    return msgspec.convert(
        {"host": "broker.local", "username": "pinchpoint", "password": SECRET,
         "url_base": "https://10.8.0.1:8443"},
        MqttSink.Config,
    )


def test_r1_repr_and_str_hide_the_password() -> None:
    config = _config()
    for shown in (repr(config), str(config), f"{config}", f"{config!r}", pretty_repr(config)):
        assert SECRET not in shown
        assert "password=***" in shown or "password='***'" in shown
        assert "pinchpoint" in shown  # the rest is still there to debug with
    assert dict(config.__rich_repr__())["password"] == "***"
    assert config.password == SECRET  # the sink itself still has it


def test_r1_logging_the_config_hides_the_password(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("pinchpoint.test.mqtt")
    with caplog.at_level(logging.INFO, logger="pinchpoint.test.mqtt"):
        log.info("sink config %s", _config())
        log.info("sink config %r", _config())
        log.info("sink config %s", {"mqtt": _config()})
    assert len(caplog.records) == 3
    assert SECRET not in caplog.text
    assert "***" in caplog.text


def test_no_password_shows_none() -> None:
    config = MqttSink.Config()
    assert "password=None" in repr(config)
