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
