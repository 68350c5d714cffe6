"""A reconnect storm: hundreds of simulated agents in one process, the plane restarted.

Every agent comes back and is in sync (a daemon set applied after the restart
reaches every node), none is lost, and the restart itself appends nothing
for nodes the log already knows are connected, nor for statuses it already has.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import grpc
from agents_support import daemon_set
from conftest import plane_config, stubs_for
from support import wait_until

from ctrlplane._proto.v1 import api_pb2
from ctrlplane.domain.state import ClusterState
from ctrlplane.server import Plane

NODES = 400


def ready_pods(state: ClusterState, ds: str) -> int:
    return sum(1 for p in state.pods.values() if p.owner == ("default", ds) and p.ready)


async def read_line(proc: asyncio.subprocess.Process, prefix: str) -> str:
    assert proc.stdout is not None
    while True:
        line = (await proc.stdout.readline()).decode()
        if not line:
            raise AssertionError(f"swarm exited before printing {prefix!r}")
        if line.startswith(prefix):
            return line


async def test_every_agent_is_back_after_a_plane_restart(tmp_path: Path) -> None:
    # A lease far longer than a reconnect takes: "none lost" must not depend
    # on how loaded the machine is (expiry itself is tested in test_agent_hub).
    config = plane_config(tmp_path, lease_seconds=60.0, heartbeat_interval=3.0)
    async with Plane(config) as plane:
        port, state = plane.port, plane.feed.state
        swarm = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agents.swarm",
            "--server", plane.address, "--nodes", str(NODES), "--backoff-cap", "2",
            stdout=subprocess.PIPE,
        )  # fmt: skip
        try:
            await asyncio.wait_for(read_line(swarm, "connected"), 30)
            async with grpc.aio.insecure_channel(plane.address) as channel:
                apply = api_pb2.ApplyRequest(daemon_set=daemon_set("logs"))
                await stubs_for(channel).daemon_sets.Apply(apply)
            await wait_until(lambda: ready_pods(state, "logs") == NODES, 30, feed=plane.feed)
            head = await plane.store.head()
        except BaseException:
            swarm.kill()
            await swarm.wait()
            raise

    try:
        config = plane_config(
            tmp_path, lease_seconds=60.0, heartbeat_interval=3.0, listen=f"127.0.0.1:{port}"
        )
        async with Plane(config) as plane:
            state = plane.feed.state
            async with grpc.aio.insecure_channel(plane.address) as channel:
                apply = api_pb2.ApplyRequest(daemon_set=daemon_set("metrics"))
                await stubs_for(channel).daemon_sets.Apply(apply)
            await wait_until(lambda: ready_pods(state, "metrics") == NODES, 30, feed=plane.feed)
            assert ready_pods(state, "logs") == NODES
            assert all(n.connected and not n.lost for n in state.nodes.values())
            since = await plane.store.read(head)
            kinds = {e.WhichOneof("kind") for e in since}
            assert not kinds & {"node_lost", "node_connected", "node_registered", "pod_deleted"}
            # Every agent re-reports its statuses on the new stream; unchanged
            # ones are dropped by the hub, so the old pods' statuses add nothing.
            reported = [e.pod_status_reported for e in since if e.HasField("pod_status_reported")]
            keys = [(r.namespace or "default", r.pod_name) for r in reported]
            owners = [state.pods[k].owner for k in keys if k in state.pods]
            assert ("default", "logs") not in owners
            swarm.terminate()  # a clean goodbye from every agent
            await swarm.wait()
            await wait_until(
                lambda: not any(n.connected for n in state.nodes.values()), 30, feed=plane.feed
            )
            assert not any(n.lost for n in state.nodes.values())
    finally:
        if swarm.returncode is None:
            swarm.kill()
            await swarm.wait()
