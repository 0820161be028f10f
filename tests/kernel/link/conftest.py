"""Fixtures of the node-link tests: a nats-server of the test's own, a ``link.nats`` on it,
a link cipher, and a console's governed core on a real SQLite file with a live deployment."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from adapters.engine.onnx import OnnxEngine
from adapters.link.nats import NatsLink
from kernel.config import load as load_config
from kernel.domain.governance import Governance, open_governance
from kernel.link.cipher import LinkCipher, list_secret
from kernel.testing.camera_contract import make_context
from tests.integration.pipeline_rig import go_live, make_engine
from tests.nats_server import NatsServer, started_server


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    async with started_server(tmp_path / "nats") as server:
        yield server


def make_link(server: NatsServer, tmp: Path, **settings: object) -> NatsLink:
    cfg = msgspec.structs.replace(NatsLink.Config(url=server.url), **settings)
    return NatsLink(cfg, make_context("link", tmp))


@pytest.fixture
async def link(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[NatsLink]:
    link = make_link(nats_server, tmp_path, ack_wait_s=0.5, publish_timeout_s=1.0)
    await link.open()
    yield link
    await link.close()


@pytest.fixture
def link_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def cipher(link_key: bytes) -> LinkCipher:
    """The console's link cipher."""
    return LinkCipher(link_key)


class Console(msgspec.Struct):
    gov: Governance
    engine: OnnxEngine
    """The real engine that enrolled the list (open for the test: loading it takes a while)."""
    deployment_id: str
    entry_id: str


@pytest.fixture
async def edge_cipher(link_key: bytes, console: Console) -> LinkCipher:
    """An edge's link cipher, holding the console deployment's list secret as an edge does
    once it fetched the list (its candidates are sealed under it)."""
    edge = LinkCipher(link_key)
    dep = console.deployment_id
    edge.hold(dep, list_secret(await console.gov.ctx.keys.data_key(dep), dep))
    return edge


@pytest.fixture
async def console(models_dir: Path, tmp_path: Path) -> AsyncIterator[Console]:
    path = tmp_path / "console.toml"
    path.write_text(f'data_dir = "{tmp_path / "console"}"\n[store]\ntype = "sqlite"\n')
    gov = await open_governance(load_config(path, environ={}))
    engine = make_engine(models_dir)
    try:
        dep = await go_live(gov, engine)
        (entry,) = await gov.watchlists.entries(dep)
        yield Console(gov, engine, dep, entry.id)
    finally:
        await engine.close()
        await gov.close()
