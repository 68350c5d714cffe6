"""Agents against a real plane over gRPC: registration, assignments, statuses, leases."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc
from agents_support import daemon_set
from conftest import Stubs
from support import wait_until

from agents.agent import Agent, AgentConfig
from agents.runtime.simulated import SimulatedRuntime
from ctrlplane._proto.v1 import api_pb2
from ctrlplane.server import Plane


@asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[Agent]:
    task = asyncio.create_task(agent.run())
    try:
        yield agent
    finally:
        agent.stop()
        await task


def sim_agent(channel: grpc.aio.Channel, name: str, **labels: str) -> Agent:
    config = AgentConfig(node_name=name, labels=labels, backoff_base=0.05, backoff_cap=0.5)
    return Agent(config, SimulatedRuntime(), channel, rng=random.Random(1))


def ready_pods(plane: Plane) -> Callable[[], int]:
    return lambda: sum(1 for p in plane.feed.state.pods.values() if p.ready)


async def test_agents_register_get_pods_and_report_them_ready(
    plane: Plane, channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    agents = [sim_agent(channel, f"node-{i}", role="edge") for i in range(3)]
    async with running(agents[0]), running(agents[1]), running(agents[2]):
        state = plane.feed.state
        await wait_until(lambda: len(state.nodes) == 3, feed=plane.feed)
        assert all(n.connected for n in state.nodes.values())
        await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=daemon_set("logs")))
        await wait_until(lambda: ready_pods(plane)() == 3, feed=plane.feed)
        for agent in agents:
            assert len(agent.assigned) == 1
            assert agent.runtime.running().keys() == agent.assigned.keys()


async def test_pods_follow_relabels_and_deletions(
    plane: Plane, channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    selective = daemon_set("edge-only", nodeSelector={"role": "edge"})
    async with running(sim_agent(channel, "node-0", role="edge")) as agent:
        await wait_until(lambda: "node-0" in plane.feed.state.nodes, feed=plane.feed)
        await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=selective))
        await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=daemon_set("logs")))
        await wait_until(lambda: len(agent.runtime.running()) == 2)

        # The node no longer matches: its pod goes away, the other stays.
        await stubs.nodes.Label(api_pb2.LabelRequest(name="node-0", remove=["role"]))
        await wait_until(lambda: len(agent.runtime.running()) == 1)
        [(_, name)] = agent.runtime.running()
        assert name.startswith("logs")

        await stubs.daemon_sets.Delete(api_pb2.ObjectRef(name="logs"))
        await wait_until(lambda: not agent.runtime.running())
        assert agent.assigned == {}


async def test_a_stopped_agent_says_goodbye(plane: Plane, channel: grpc.aio.Channel) -> None:
    state = plane.feed.state
    async with running(sim_agent(channel, "node-0")) as agent:
        await asyncio.wait_for(agent.connected.wait(), 10)
        await wait_until(
            lambda: "node-0" in state.nodes and state.nodes["node-0"].connected, feed=plane.feed
        )
    await wait_until(lambda: not state.nodes["node-0"].connected, feed=plane.feed)
    assert not state.nodes["node-0"].lost
    kinds = [e.WhichOneof("kind") for e in await plane.store.read()]
    assert kinds == ["node_registered", "node_connected", "node_disconnected"]
