"""Each console publishes only its own deployments' lists (issue 13, R18).

Two consoles ("van-a", "van-b") on one store, as a force running two vans has (one SQLite
file here; one PostgreSQL schema in the second run), each with its governed core opened from
a console config as ``pinchpoint run`` opens it, and each with its own real nats-server: a
deployment made on van A's console reaches only van A's broker, van B's only van B's, one
made by a tool with no node config (unstamped) both. A deployment re-stamped for the other
console is withdrawn from the first broker and published on the second; one an earlier run
published on the wrong van's broker is withdrawn by the right console's next start.

The deployments are put live in the store directly: which console publishes what does not
depend on how a deployment went live (R9's review is the lifecycle tests'), and an empty list
needs no engine to enrol it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.link.nats import NatsLink
from kernel.config import MatchingConfig
from kernel.config import load as load_config
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance, open_governance
from kernel.domain.node_id import ConsoleRefused
from kernel.link.cipher import LinkCipher
from kernel.link.list_publisher import ListPublisher
from tests import postgres_server as pg
from tests.kernel.link.conftest import make_link
from tests.nats_server import started_server


@pytest.fixture(params=["sqlite", "postgres"])
def store_section(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _governance(path: Path, data_dir: Path, store: str, node: str) -> Governance:
    """The governed core a process opens from ``path``: ``node`` is its ``[node]`` section
    (empty: a tool with no node config)."""
    path.write_text(f'data_dir = "{data_dir}"\n{node}\n{store}\n')
    return await open_governance(load_config(path))


def _console(node_id: str) -> str:
    return (f'[node]\nrole = "console"\nid = "{node_id}"\n'
            '[link]\ntype = "nats"\nurl = "nats://127.0.0.1:4222"')


async def _live(gov: Governance, name: str, console: str | None = None) -> str:
    """A deployment created through the domain (stamped as its creation decides), then put
    live in the store."""
    now = gov.ctx.clock.now()
    rec = await gov.deployments.create(DeploymentDraft(
        name=name, authorising_officer="Supt", location=f"{name} square",
        starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=2),
        objectives="o", case_reference="CR-13", command_team=["Gold"], console=console),
        "cmd")
    async with gov.store.transaction() as tx:
        rec.state, rec.live_at = "live", now
        await tx.deployments.update(rec)
    return rec.id


async def _restamp(gov: Governance, deployment_id: str, console: str | None) -> None:
    async with gov.store.transaction() as tx:
        rec = await tx.deployments.get(deployment_id)
        assert rec is not None
        rec.console = console
        await tx.deployments.update(rec)


class Vans:
    """Two consoles on one store, each its broker; a tool with no node config."""

    def __init__(self, gov_a: Governance, gov_b: Governance, tool: Governance,
                 link_a: NatsLink, link_b: NatsLink) -> None:
        self.gov_a, self.gov_b, self.tool = gov_a, gov_b, tool
        self.link_a, self.link_b = link_a, link_b
        self.cipher_a = LinkCipher(secrets.token_bytes(32))  # each van its own link key
        self.cipher_b = LinkCipher(secrets.token_bytes(32))

    def publisher_a(self, console: str = "van-a") -> ListPublisher:
        return ListPublisher(self.link_a, self.cipher_a, self.gov_a, MatchingConfig(), 1.0,
                             console=console)

    def publisher_b(self) -> ListPublisher:
        return ListPublisher(self.link_b, self.cipher_b, self.gov_b, MatchingConfig(), 1.0,
                             console="van-b")

    async def on_brokers(self) -> tuple[set[str], set[str]]:
        """The deployments whose lists each van's broker holds now."""
        return set(await self.link_a.list_versions()), set(await self.link_b.list_versions())


@pytest.fixture
async def vans(tmp_path: Path, store_section: str, monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[Vans]:
    async with AsyncExitStack() as stack:
        if store_section == "sqlite":  # one file: the three processes share a data directory
            shared = tmp_path / "store"
            dirs = (shared, shared, shared)
            store = '[store]\ntype = "sqlite"'
        else:
            schema = await stack.enter_async_context(pg.fresh_schema())
            for name, value in pg.ENVIRON.items():
                monkeypatch.setenv(name, value)
            dirs = (tmp_path / "van-a", tmp_path / "van-b", tmp_path / "tool")
            # three boxes sharing one keys/ directory, as docs/scale-out.md prescribes: a
            # console needs a deployment's data key to publish its list (its list secret is
            # derived from it) and to store its candidates
            (tmp_path / "keys").mkdir()
            for d in dirs:
                d.mkdir()
                (d / "keys").symlink_to(tmp_path / "keys", target_is_directory=True)
            store = (f'[store]\ntype = "postgres"\nhost = "{pg.HOST}"\nport = {pg.PORT}\n'
                     f'database = "{pg.NAME}"\nuser = "{pg.NAME}"\n'
                     f'password_env = "{pg.PASSWORD_ENV}"\nschema = "{schema}"\n'
                     'pool_max = 2\nconnect_timeout_s = 5')
        govs = []
        for i, node in enumerate((_console("van-a"), _console("van-b"), "")):
            gov = await _governance(tmp_path / f"c{i}.toml", dirs[i], store, node)
            stack.push_async_callback(gov.close)
            govs.append(gov)
        links = []
        for van in ("a", "b"):
            server = await stack.enter_async_context(started_server(tmp_path / f"nats-{van}"))
            link = make_link(server, tmp_path, publish_timeout_s=2.0)
            await link.open()
            stack.push_async_callback(link.close)
            links.append(link)
        yield Vans(govs[0], govs[1], govs[2], links[0], links[1])


async def test_issue13_r18_each_console_publishes_its_own_and_the_unstamped_deployments(
        vans: Vans) -> None:
    dep_a = await _live(vans.gov_a, "Van A")
    dep_b = await _live(vans.gov_b, "Van B")
    shared = await _live(vans.tool, "Unstamped")
    consoles = {d.id: d.console for d in await vans.tool.deployments.list_all()}
    assert consoles == {dep_a: "van-a", dep_b: "van-b", shared: None}
    pub_a, pub_b = vans.publisher_a(), vans.publisher_b()
    await pub_a.refresh()
    await pub_b.refresh()
    assert await vans.on_brokers() == ({dep_a, shared}, {dep_b, shared})
    assert set(pub_a.published) == {dep_a, shared} and set(pub_b.published) == {dep_b, shared}

    # re-stamped for van B (the deployment moves vans): withdrawn from A, published on B
    await _restamp(vans.tool, dep_a, "van-b")
    await pub_a.refresh()
    await pub_b.refresh()
    assert await vans.on_brokers() == ({shared}, {dep_a, dep_b, shared})
    # and a re-stamp to none: every console publishes it again
    await _restamp(vans.tool, dep_a, None)
    await pub_a.refresh()
    await pub_b.refresh()
    assert await vans.on_brokers() == ({dep_a, shared}, {dep_a, dep_b, shared})


async def test_issue13_r18_a_list_an_earlier_run_published_on_the_wrong_broker_is_withdrawn(
        vans: Vans) -> None:
    dep_a = await _live(vans.gov_a, "Van A")
    dep_b = await _live(vans.gov_b, "Van B")
    # an earlier run on van A's box with van B's [node] id (a config copied from the other
    # van), or a run from before consoles were told apart: van B's list on van A's broker
    await vans.publisher_a(console="van-b").refresh()
    assert await vans.on_brokers() == ({dep_b}, set())
    # van A's console started as itself: it takes over what is on its broker and withdraws
    # what is not its own, and publishes its own
    restarted = vans.publisher_a()
    await restarted.refresh()
    assert await vans.on_brokers() == ({dep_a}, set())
    assert set(restarted.published) == {dep_a}


async def test_issue13_hostile_console_values_are_refused_by_the_domain(vans: Vans) -> None:
    """The domain refuses a ``console`` no ``[node] id`` could be, whoever calls it; nothing
    is created."""
    for bad in ("", " ", "van a", "x" * 65, "van-a\n", "van\x00a", "van\x1b[31m", "väń"):
        with pytest.raises(ConsoleRefused, match=r"console must be a console's \[node\] id"):
            await _live(vans.gov_a, "Bad", console=bad)
    assert await vans.tool.deployments.list_all() == []
    made = await _live(vans.tool, "Explicit", console="van-b")  # a tool naming the van
    assert (await vans.gov_b.deployments.get(made)).console == "van-b"
