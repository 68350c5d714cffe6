"""The plane side of Agent.Connect, through bare gRPC streams: what the log records,
what a reconnecting agent is sent, and how a slow stream is caught up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from agents_support import daemon_set
from conftest import plane_config, stubs_for
from support import wait_for_event, wait_until

from ctrlplane._proto.v1 import agent_pb2, agent_pb2_grpc, api_pb2, events_pb2, objects_pb2
from ctrlplane.api.agent import QUEUE_LIMIT, _Stream
from ctrlplane.api.auth import TokenTable
from ctrlplane.server import Plane


class Link:
    """One bare agent stream: send messages, read what the plane sends."""

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self.call = call

    async def send(self, **kind: object) -> None:
        await self.call.write(agent_pb2.AgentMessage(**kind))  # type: ignore[arg-type]

    async def read(self) -> agent_pb2.PlaneMessage:
        msg = await asyncio.wait_for(self.call.read(), 10)
        assert isinstance(msg, agent_pb2.PlaneMessage)
        return msg

    async def goodbye(self) -> None:
        await self.call.write(agent_pb2.AgentMessage(goodbye=agent_pb2.Goodbye()))
        await self.call.done_writing()
        await self.call.code()


@asynccontextmanager
async def link(channel: grpc.aio.Channel, hello: agent_pb2.Hello) -> AsyncIterator[Link]:
    call = agent_pb2_grpc.AgentStub(channel).Connect()  # type: ignore[no-untyped-call]
    await call.write(agent_pb2.AgentMessage(hello=hello))
    try:
        yield Link(call)
    finally:
        call.cancel()


def kinds_after(events: Sequence[events_pb2.Event]) -> list[str]:
    return [str(e.WhichOneof("kind")) for e in events]


async def test_hello_registers_then_records_only_changes(
    plane: Plane, channel: grpc.aio.Channel
) -> None:
    hello = agent_pb2.Hello(node_name="n1", labels={"zone": "a"})
    async with link(channel, hello) as first:
        snap = await first.read()
        assert snap.WhichOneof("msg") == "snapshot"
        assert list(snap.snapshot.pods) == []
        assert snap.heartbeat_interval_seconds == plane.config.heartbeat_interval
        await first.goodbye()
    nodes = plane.feed.state.nodes
    await wait_until(lambda: "n1" in nodes and not nodes["n1"].connected, feed=plane.feed)

    hello.labels["zone"] = "b"
    hello.taints.add(key="dedicated", value="db", effect="NoSchedule")
    async with link(channel, hello) as second:
        await second.read()
        await wait_until(lambda: plane.feed.state.nodes["n1"].connected, feed=plane.feed)
        node = plane.feed.state.nodes["n1"].node
        assert dict(node.metadata.labels) == {"zone": "b"}
        assert [t.key for t in node.spec.taints] == ["dedicated"]
    events = await plane.store.read()
    assert kinds_after(events) == [
        "node_registered",
        "node_connected",
        "node_disconnected",
        "node_labels_changed",
        "node_taints_changed",
        "node_connected",
    ]
    assert {e.actor for e in events} == {"agent:n1"}
    assert {e.stream for e in events} == {"node/n1"}


@pytest.mark.parametrize(
    ("hello", "problem"),
    [
        pytest.param(agent_pb2.Hello(node_name="Bad_Name"), "node_name", id="bad-node-name"),
        pytest.param(agent_pb2.Hello(node_name="n", labels={"-x": "y"}), "label", id="bad-label"),
        pytest.param(
            agent_pb2.Hello(node_name="n", taints=[objects_pb2.Taint(key="k", effect="Maybe")]),
            "effect",
            id="bad-taint",
        ),
    ],
)
async def test_an_invalid_hello_is_refused(
    plane: Plane, channel: grpc.aio.Channel, hello: agent_pb2.Hello, problem: str
) -> None:
    async with link(channel, hello) as bad:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await bad.read()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem in (refused.value.details() or "")
    assert await plane.store.head() == 0


async def test_a_known_node_repeating_its_facts_appends_nothing_and_a_bad_change_is_refused(
    plane: Plane, channel: grpc.aio.Channel
) -> None:
    # Every agent of a reconnect storm says what the log already knows: the
    # hub skips validation and records nothing. A change is checked as ever.
    taint = objects_pb2.Taint(key="dedicated", value="db", effect="NoSchedule")
    hello = agent_pb2.Hello(node_name="n1", labels={"zone": "a"}, taints=[taint])
    async with link(channel, hello) as first:
        await first.read()  # dropped without a goodbye: the lease keeps it connected
    nodes = plane.feed.state.nodes
    await wait_until(lambda: "n1" in nodes and nodes["n1"].connected, feed=plane.feed)
    head = await plane.store.head()
    same = agent_pb2.Hello(node_name="n1", labels={"zone": "a"}, taints=[taint])
    async with link(channel, same) as again:
        assert (await again.read()).WhichOneof("msg") in ("delta", "snapshot")
    bad = agent_pb2.Hello()
    bad.CopyFrom(hello)
    bad.labels["-x"] = "y"
    async with link(channel, bad) as refused:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await refused.read()
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    async with link(channel, hello) as last:
        await last.read()
        await last.goodbye()  # appended after anything the Hellos above queued
    await wait_until(lambda: not nodes["n1"].connected, feed=plane.feed)
    assert kinds_after(await plane.store.read(head)) == ["node_disconnected"]
    assert dict(nodes["n1"].node.metadata.labels) == {"zone": "a"}


async def test_a_current_agent_gets_an_empty_delta_and_a_stale_one_a_snapshot(
    plane: Plane, channel: grpc.aio.Channel
) -> None:
    state = plane.feed.state
    async with link(channel, agent_pb2.Hello(node_name="n1")) as first:
        await first.read()
        await stubs_for(channel).daemon_sets.Apply(
            api_pb2.ApplyRequest(daemon_set=daemon_set("logs"))
        )
        delta = await first.read()
        assert delta.WhichOneof("msg") == "delta"
        [pod] = delta.delta.upserted
        assert pod.spec.node_name == "n1"
        assert pod.metadata.annotations["ctrlplane.io/revision-hash"]
        applied = delta.delta.seq
        # The same status twice is one fact in the log.
        for _ in range(2):
            status = agent_pb2.PodStatusUpdate(
                namespace="default", pod_name=pod.metadata.name, phase="Running", ready=True
            )
            await first.send(pod_status=status)
        await wait_until(lambda: state.pods[("default", pod.metadata.name)].ready, feed=plane.feed)

    resumed = agent_pb2.Hello(node_name="n1", last_applied_seq=applied)
    async with link(channel, resumed) as second:
        marker = await second.read()
        assert marker.WhichOneof("msg") == "delta"
        assert not marker.delta.upserted
        assert not marker.delta.removed
        assert marker.delta.seq >= applied

    async with link(channel, agent_pb2.Hello(node_name="n1", last_applied_seq=1)) as stale:
        snap = await stale.read()
        assert snap.WhichOneof("msg") == "snapshot"
        assert [p.metadata.name for p in snap.snapshot.pods] == [pod.metadata.name]

    reports = [e for e in await plane.store.read() if e.HasField("pod_status_reported")]
    assert len(reports) == 1


async def test_a_silent_node_is_lost_and_back_when_it_speaks(
    plane: Plane, channel: grpc.aio.Channel
) -> None:
    async with link(channel, agent_pb2.Hello(node_name="n1")) as quiet:
        await quiet.read()
        lost = await wait_for_event(plane.store, lambda e: e.HasField("node_lost"), 10)
        assert lost.node_lost.node_name == "n1"
        await quiet.send(heartbeat=agent_pb2.Heartbeat(applied_seq=0))
        back = await wait_for_event(
            plane.store, lambda e: e.HasField("node_connected"), 10, after_seq=lost.seq
        )
        assert back.node_connected.node_name == "n1"
        assert back.actor == "agent:n1"


async def test_a_full_queue_is_dropped_for_a_fresh_snapshot() -> None:
    stream = _Stream("n1")
    stream.needs_snapshot = False
    for seq in range(QUEUE_LIMIT):
        stream.push(agent_pb2.PlaneMessage(delta=agent_pb2.AssignmentDelta(seq=seq + 1)))
    assert len(stream.queue) == QUEUE_LIMIT
    assert not stream.needs_snapshot
    stream.push(agent_pb2.PlaneMessage(delta=agent_pb2.AssignmentDelta(seq=QUEUE_LIMIT + 1)))
    assert stream.needs_snapshot
    assert len(stream.queue) == 0


async def test_with_tokens_an_agent_speaks_only_for_its_own_node(tmp_path: Path) -> None:
    tokens = TokenTable.parse(["t-a,node-a,agent", "t-root,root,admin"])
    async with Plane(plane_config(tmp_path, tokens=tokens)) as plane:
        async with grpc.aio.insecure_channel(plane.address) as channel:
            cases = [("t-a", "node-a", None), ("t-a", "node-b", grpc.StatusCode.PERMISSION_DENIED)]
            cases += [("t-root", "node-b", None), ("", "node-c", grpc.StatusCode.UNAUTHENTICATED)]
            for token, node, refused in cases:
                metadata = (("authorization", f"Bearer {token}"),) if token else None
                call = agent_pb2_grpc.AgentStub(channel).Connect(metadata=metadata)  # type: ignore[no-untyped-call]
                await call.write(agent_pb2.AgentMessage(hello=agent_pb2.Hello(node_name=node)))
                if refused is None:
                    assert (await call.read()).WhichOneof("msg") == "snapshot"
                else:
                    with pytest.raises(grpc.aio.AioRpcError) as error:
                        await call.read()
                    assert error.value.code() == refused
                call.cancel()
        assert set(plane.feed.state.nodes) <= {"node-a", "node-b"}


async def test_a_node_that_never_returns_after_a_plane_restart_is_lost(tmp_path: Path) -> None:
    async with (
        Plane(plane_config(tmp_path)) as plane,
        grpc.aio.insecure_channel(plane.address) as channel,
        link(channel, agent_pb2.Hello(node_name="gone")) as agent,
    ):
        await agent.read()
        nodes = plane.feed.state.nodes
        await wait_until(lambda: "gone" in nodes and nodes["gone"].connected, feed=plane.feed)
    # The plane stopped under a connected agent; the log still says connected.
    async with Plane(plane_config(tmp_path)) as plane:
        head = await plane.store.head()
        lost = await wait_for_event(
            plane.store, lambda e: e.HasField("node_lost"), 10, after_seq=head
        )
        assert lost.node_lost.node_name == "gone"
