"""End to end with real agents (`python -m agents.main`) running real processes.

Pods start as processes; a process killed from outside is restarted and its
restart count rises; a failing readiness probe keeps numberReady below
desired; an agent killed with SIGKILL becomes NodeLost after the lease and
comes back without duplicate processes; a restarted plane loses nothing.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from agents_support import (
    AgentProcs,
    agent_processes,
    daemon_set,
    pid_alive,
    pods_of,
    processes_of_pod,
    sleeper,
)
from conftest import Stubs, plane_config, stubs_for
from support import wait_until

from ctrlplane._proto.v1 import api_pb2
from ctrlplane.domain.state import ClusterState, PodState
from ctrlplane.domain.status import daemon_set_status
from ctrlplane.server import Plane


@pytest.fixture
def agent_procs(tmp_path: Path) -> Iterator[AgentProcs]:
    with agent_processes(tmp_path) as procs:
        yield procs


def pod_of(state: ClusterState, ds: str, node: str) -> PodState | None:
    for pod in state.pods.values():
        if pod.owner == ("default", ds) and pod.node_name == node:
            return pod
    return None


def ready(state: ClusterState, ds: str, node: str) -> bool:
    pod = pod_of(state, ds, node)
    return pod is not None and pod.ready


async def apply(stubs: Stubs, ds: object) -> None:
    await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=ds))  # type: ignore[arg-type]


async def test_pods_run_restart_and_probe(
    plane: Plane, stubs: Stubs, agent_procs: AgentProcs
) -> None:
    state = plane.feed.state
    agent_procs.start(plane.address, "node-a", "--labels", "role=edge")
    await wait_until(lambda: "node-a" in state.nodes, 20, feed=plane.feed)
    await apply(stubs, daemon_set("logs"))
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1}
    await apply(stubs, daemon_set("unready", [sleeper(readinessProbe=probe)]))

    await wait_until(lambda: ready(state, "logs", "node-a"), 20, feed=plane.feed)
    pod = pod_of(state, "logs", "node-a")
    assert pod is not None
    data = agent_procs.data_dir("node-a")
    pid = pods_of(data)[pod.key[1]]
    assert pid_alive(pid)

    os.killpg(pid, signal.SIGKILL)  # from outside the agent
    await wait_until(
        lambda: pod.restart_count >= 1 and pod.ready, 20, "not restarted", feed=plane.feed
    )
    assert pods_of(data)[pod.key[1]] != pid
    assert processes_of_pod(pod.key[1]) == [pods_of(data)[pod.key[1]]]

    unready = pod_of(state, "unready", "node-a")
    assert unready is not None
    assert unready.phase == "Running"
    assert not unready.ready
    status = daemon_set_status(state, ("default", "unready"), state.time)
    assert status.desired_number_scheduled == 1
    assert status.number_ready == 0


async def test_killed_agent_is_lost_then_back_without_duplicates(
    plane: Plane, stubs: Stubs, agent_procs: AgentProcs
) -> None:
    state = plane.feed.state
    agent = agent_procs.start(plane.address, "node-k")
    await wait_until(lambda: "node-k" in state.nodes, 20, feed=plane.feed)
    await apply(stubs, daemon_set("logs"))
    await wait_until(lambda: ready(state, "logs", "node-k"), 20, feed=plane.feed)
    pod = pod_of(state, "logs", "node-k")
    assert pod is not None
    pid = pods_of(agent_procs.data_dir("node-k"))[pod.key[1]]

    agent.send_signal(signal.SIGKILL)
    await wait_until(lambda: state.nodes["node-k"].lost, 20, "never lost", feed=plane.feed)
    assert pid_alive(pid)  # the pod outlives its agent, as with kubelet

    again = agent_procs.start(plane.address, "node-k")
    await wait_until(
        lambda: state.nodes["node-k"].connected and not state.nodes["node-k"].lost,
        20,
        feed=plane.feed,
    )
    await wait_until(lambda: ready(state, "logs", "node-k"), 20, feed=plane.feed)
    assert processes_of_pod(pod.key[1]) == [pid]  # adopted, not started twice
    assert pod_of(state, "logs", "node-k") is pod  # the same pod, never rescheduled

    # SIGTERM: a clean goodbye (disconnected, not lost); the pod keeps running.
    again.send_signal(signal.SIGTERM)
    await wait_until(lambda: again.poll() is not None, 20)  # never block the plane's loop
    assert again.returncode == 0
    await wait_until(lambda: not state.nodes["node-k"].connected, 20, feed=plane.feed)
    assert not state.nodes["node-k"].lost
    assert pid_alive(pid)


async def test_plane_restart_under_running_agents_loses_nothing(
    tmp_path: Path, agent_procs: AgentProcs
) -> None:
    config = plane_config(tmp_path, lease_seconds=5.0, heartbeat_interval=0.5)
    async with Plane(config) as plane:
        port = plane.port
        address = plane.address
        for node in ("node-1", "node-2"):
            agent_procs.start(address, node)
        channel = grpc.aio.insecure_channel(address)
        stubs = stubs_for(channel)
        state = plane.feed.state
        await wait_until(lambda: len(state.nodes) == 2, 20, feed=plane.feed)
        await apply(stubs, daemon_set("logs"))
        await wait_until(
            lambda: all(ready(state, "logs", n) for n in ("node-1", "node-2")), 20, feed=plane.feed
        )
        before = {n: pods_of(agent_procs.data_dir(n)) for n in ("node-1", "node-2")}
        head = await plane.store.head()
        await channel.close()

    config = plane_config(tmp_path, lease_seconds=5.0, heartbeat_interval=0.5,
                          listen=f"127.0.0.1:{port}")  # fmt: skip
    async with Plane(config) as plane:
        state = plane.feed.state
        channel = grpc.aio.insecure_channel(plane.address)
        stubs = stubs_for(channel)
        # Every agent is back and in sync: a new daemon set reaches both.
        await apply(stubs, daemon_set("metrics"))
        await wait_until(
            lambda: all(ready(state, "metrics", n) for n in ("node-1", "node-2")),
            20,
            feed=plane.feed,
        )
        await channel.close()
        after = {n: pods_of(agent_procs.data_dir(n)) for n in ("node-1", "node-2")}
        for node in ("node-1", "node-2"):
            assert ready(state, "logs", node)
            for name, pid in before[node].items():
                assert after[node][name] == pid
        since = await plane.store.read(head)
        kinds = {e.WhichOneof("kind") for e in since}
        assert not kinds & {"node_lost", "pod_deleted", "node_registered"}
        assert (
            sum(1 for e in since if e.WhichOneof("kind") == "pod_scheduled") == 2
        )  # only the new daemon set's pods


async def test_stop_pods_on_exit_stops_them(
    plane: Plane, stubs: Stubs, agent_procs: AgentProcs
) -> None:
    state = plane.feed.state
    agent = agent_procs.start(plane.address, "node-x", "--stop-pods-on-exit")
    await wait_until(lambda: "node-x" in state.nodes, 20, feed=plane.feed)
    await apply(stubs, daemon_set("logs"))
    await wait_until(lambda: ready(state, "logs", "node-x"), 20, feed=plane.feed)
    pod = pod_of(state, "logs", "node-x")
    assert pod is not None
    pid = pods_of(agent_procs.data_dir("node-x"))[pod.key[1]]
    agent.send_signal(signal.SIGTERM)
    await wait_until(lambda: agent.poll() is not None, 20)
    assert agent.returncode == 0
    assert not pid_alive(pid)
    assert processes_of_pod(pod.key[1]) == []
