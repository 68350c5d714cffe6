"""The hub's failure and stop paths: a failing writer, a failing append, a plane stop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
import pytest
from conftest import plane_config
from support import wait_until
from test_agent_hub import kinds_after, link

from ctrlplane._proto.v1 import agent_pb2
from ctrlplane.api.agent import AgentHub
from ctrlplane.eventlog import open_store
from ctrlplane.eventlog.base import EventLogError, NewEvent
from ctrlplane.eventlog.memory import MemoryEventStore
from ctrlplane.server import Plane


def hub_of(plane: Plane) -> AgentHub:
    """The plane's agent hub (it registers its close_all as a stop hook)."""
    for hook in plane.context.stop_hooks:
        owner = getattr(hook, "__self__", None)
        if isinstance(owner, AgentHub):
            return owner
    raise AssertionError("no agent hub registered")


async def test_a_failing_writer_ends_the_call_and_a_reconnect_gets_a_snapshot(
    plane: Plane, channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_of(plane)
    real = hub.snapshot
    failures: list[str] = []

    def snapshot_failing_once(node: str) -> agent_pb2.PlaneMessage:
        if not failures:
            failures.append(node)
            raise RuntimeError("cannot render the snapshot")
        return real(node)

    monkeypatch.setattr(hub, "snapshot", snapshot_failing_once)
    hello = agent_pb2.Hello(node_name="n1")
    async with link(channel, hello) as first:
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await first.read()
    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failures == ["n1"]
    async with link(channel, hello) as second:
        assert (await second.read()).WhichOneof("msg") == "snapshot"
        await second.goodbye()


class FlakyStore(MemoryEventStore):
    """A memory store whose next append of agent facts fails (a full disk, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_agent_appends = 1

    async def append(
        self, events: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> int:
        if self.fail_agent_appends and all(e.actor.startswith("agent:") for e in events):
            self.fail_agent_appends -= 1
            raise EventLogError("disk full")
        return await super().append(events, expected)


async def test_a_failed_append_of_agent_facts_is_retried_not_lost(tmp_path: Path) -> None:
    store = FlakyStore()
    async with (
        Plane(plane_config(tmp_path, store=store)) as plane,
        grpc.aio.insecure_channel(plane.address) as channel,
        link(channel, agent_pb2.Hello(node_name="n1")) as agent,
    ):
        await agent.read()
        nodes = plane.feed.state.nodes
        await wait_until(lambda: "n1" in nodes and nodes["n1"].connected, feed=plane.feed)
        assert store.fail_agent_appends == 0  # it did fail once
        assert kinds_after(await store.read()) == ["node_registered", "node_connected"]
        await agent.goodbye()
    assert plane.failure is None  # the plane kept running
    await store.close()


async def test_a_stopping_plane_ends_agent_streams_without_recording_a_disconnect(
    tmp_path: Path,
) -> None:
    # A long grace: without the hub ending its streams, the stop would wait it
    # out and then cancel the call (not OK).
    config = plane_config(tmp_path, grace=30.0)
    plane = Plane(config)
    await plane.start()
    try:
        async with (
            grpc.aio.insecure_channel(plane.address) as channel,
            link(channel, agent_pb2.Hello(node_name="n1")) as agent,
        ):
            await agent.read()
            nodes = plane.feed.state.nodes
            await wait_until(lambda: "n1" in nodes and nodes["n1"].connected, feed=plane.feed)
            hub = hub_of(plane)
            await plane.stop()
            assert hub.closing
            assert not hub.streams
            assert await agent.call.read() is grpc.aio.EOF
            assert await agent.call.code() == grpc.StatusCode.OK
    finally:
        await plane.stop()
    assert plane.failure is None
    store = await open_store(str(config.db_path))
    try:
        # The node did not leave: a restarted plane gives it a lease to come back.
        assert kinds_after(await store.read()) == ["node_registered", "node_connected"]
    finally:
        await store.close()
