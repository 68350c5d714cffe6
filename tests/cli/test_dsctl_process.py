"""The real `dsctl` console script in child processes: exit codes, stderr, env, stdin."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from conftest import EXAMPLES
from support import wait_until

from agents.agent import Agent, AgentConfig
from agents.runtime.simulated import SimulatedRuntime
from agents.static_pods import StaticPods
from cli.dsctl_run import dsctl, dsctl_process
from ctrlplane.cli.client import os_user
from ctrlplane.server import Plane

STATIC_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: etcd
  labels: {tier: control}
spec:
  containers:
  - name: etcd
    image: etcd
    command: [python3, -c, "import time; time.sleep(1e9)"]
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def static_agent(plane: Plane, tmp_path: Path) -> AsyncIterator[Agent]:
    """One simulated agent with a static pod in its manifest directory."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "etcd.yaml").write_text(STATIC_POD)
    async with grpc.aio.insecure_channel(plane.address) as channel:
        agent = Agent(AgentConfig(node_name="node-1"), SimulatedRuntime(), channel,
                      rng=random.Random(0), static=StaticPods(manifests, "node-1"))
        task = asyncio.create_task(agent.run())
        yield agent
        agent.stop()
        await task


async def test_unreachable_plane_names_the_address_and_how_to_start_one() -> None:
    address = f"127.0.0.1:{closed_port()}"
    result = await dsctl_process(address, "get", "ds")
    assert result.code == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot reach the plane at {address}")
    assert f"ctrlplane serve --listen {address}" in lines[0]


async def test_server_from_environment_and_manifest_from_stdin(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DSCTL_SERVER": plane.address}
    applied = await dsctl_process(None, "apply", "-f", "-",
                                  stdin=(EXAMPLES / "fluentd-daemonset.yaml").read_text(), env=env)
    assert (applied.code, applied.out, applied.err) == (0, "daemonset.apps/fluentd created\n", "")
    events = await dsctl(capsys, plane.address, "events", "-o", "json")
    assert f'"actor":"user:{os_user()}"' in events.out.splitlines()[0]


async def test_usage_and_plan_errors_exit_2(plane: Plane) -> None:
    usage = await dsctl_process(plane.address, "get")
    assert usage.code == 2
    plan_missing = await dsctl_process(plane.address, "plan", "-f", "/nonexistent.yaml")
    assert plan_missing.code == 2
    assert plan_missing.err == 'error: the path "/nonexistent.yaml" does not exist\n'


async def test_not_found_and_unknown_kind_exit_1(
    plane: Plane, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown_kind = await dsctl(capsys, plane.address, "get", "deployments")
    assert unknown_kind.code == 1
    assert unknown_kind.err == 'error: the server doesn\'t have a resource type "deployments"\n'
    missing = await dsctl(capsys, plane.address, "delete", "ds", "nope")
    assert missing.code == 1
    assert missing.err.startswith("error: ")
    assert "not found" in missing.err


async def test_static_pod_is_marked_and_its_mirror_cannot_be_deleted(
    plane: Plane, static_agent: Agent, capsys: pytest.CaptureFixture[str]
) -> None:
    async def mirror_listed() -> bool:
        listed = await dsctl(capsys, plane.address, "get", "pods")
        return "etcd-node-1 (static)" in listed.out

    await wait_until(mirror_listed, timeout=20, message="the static pod's mirror is listed")
    refused = await dsctl_process(plane.address, "delete", "pod", "etcd-node-1")
    assert refused.code == 1
    assert refused.out == ""
    assert len(refused.err.splitlines()) == 1
    assert refused.err.startswith("error: ")
    assert "manifest" in refused.err
    still = await dsctl(capsys, plane.address, "get", "pods", "etcd-node-1", "-o", "name")
    assert still.out == "pod/etcd-node-1\n"
