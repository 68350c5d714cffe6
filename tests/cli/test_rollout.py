"""dsctl rollout and plan end to end: a real plane and in-process agents (simulated runtime)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from support import wait_until

from agents.agent import Agent, AgentConfig
from agents.runtime.simulated import SimulatedRuntime
from cli.dsctl_run import Result, dsctl
from ctrlplane._proto.v1 import api_pb2_grpc, events_pb2, objects_pb2
from ctrlplane.eventlog.base import NewEvent
from ctrlplane.server import Plane

TEMPLATE = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: 1}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: web:{version}
        command: [python3, -c, "print('{version}')"]
"""

NODES = ("node-1", "node-2", "node-3")


@contextlib.asynccontextmanager
async def running_agents(plane: Plane, ready_delay: float = 0.0) -> AsyncIterator[list[Agent]]:
    """Three simulated agents connected to the plane; pods ready after `ready_delay`."""
    async with grpc.aio.insecure_channel(plane.address) as channel:
        started = [
            Agent(AgentConfig(node_name=name, labels={"zone": name}),
                  SimulatedRuntime(ready_delay=ready_delay), channel, rng=random.Random(i))
            for i, name in enumerate(NODES)
        ]
        tasks = [asyncio.create_task(agent.run()) for agent in started]
        async with asyncio.timeout(10):
            await asyncio.gather(*(agent.connected.wait() for agent in started))
        yield started
        for agent in started:
            agent.stop()
        await asyncio.gather(*tasks)


@pytest.fixture
async def agents(plane: Plane) -> AsyncIterator[list[Agent]]:
    async with running_agents(plane) as started:
        yield started


def write(tmp_path: Path, version: str) -> str:
    path = tmp_path / f"web-{version}.yaml"
    path.write_text(TEMPLATE.format(version=version))
    return str(path)


async def status(capsys: pytest.CaptureFixture[str], plane: Plane, *extra: str) -> Result:
    return await dsctl(capsys, plane.address, "rollout", "status", "ds/web", "--timeout=20s",
                       *extra)


async def test_rollout_status_history_undo(
    plane: Plane, agents: list[Agent], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    created = await dsctl(capsys, plane.address, "apply", "-f", write(tmp_path, "v1"))
    assert created.out == "daemonset.apps/web created\n"
    done = await status(capsys, plane)
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1] == 'daemon set "web" successfully rolled out'
    for line in done.out.splitlines()[:-1]:
        assert line.startswith('Waiting for daemon set "web" rollout to finish: '), line

    v2 = await dsctl(capsys, plane.address, "apply", "-f", write(tmp_path, "v2"), "--record")
    assert v2.out == "daemonset.apps/web configured\n"
    rolled = await dsctl(capsys, plane.address, "rollout", "status", "daemonset", "web")
    assert rolled.code == 0
    assert rolled.out.splitlines()[-1] == 'daemon set "web" successfully rolled out'

    history = await dsctl(capsys, plane.address, "rollout", "history", "daemonset", "web")
    lines = history.out.splitlines()
    assert lines[0] == "daemonset.apps/web"
    assert lines[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert lines[2].split() == ["1", "<none>"]
    assert lines[3].startswith("2 ")
    assert "dsctl" in lines[3]
    assert "--record" in lines[3]

    one = await dsctl(capsys, plane.address, "rollout", "history", "ds/web", "--revision=1")
    assert one.out.startswith("daemonset.apps/web with revision #1\nPod Template:\n")
    assert "image: web:v1" in one.out
    diff = await dsctl(capsys, plane.address, "rollout", "history", "ds/web", "--diff", "1", "2")
    assert "-    image: web:v1" in diff.out
    assert "+    image: web:v2" in diff.out
    unknown = await dsctl(capsys, plane.address, "rollout", "history", "ds/web", "--revision=9")
    assert unknown.code == 1
    assert unknown.err.startswith("error: unable to find the specified revision 9")

    undone = await dsctl(capsys, plane.address, "rollout", "undo", "daemonset", "web")
    assert (undone.code, undone.out) == (0, "daemonset.apps/web rolled back\n")
    after = await dsctl(capsys, plane.address, "rollout", "history", "ds/web")
    assert [line.split()[0] for line in after.out.splitlines()[2:]] == ["2", "3"]
    skipped = await dsctl(capsys, plane.address, "rollout", "undo", "ds/web", "--to-revision=3")
    assert skipped.out == (
        "daemonset.apps/web skipped rollback (current template already matches revision 3)\n"
    )
    missing = await dsctl(capsys, plane.address, "rollout", "undo", "ds/web", "--to-revision=42")
    assert missing.code == 1
    assert missing.err.startswith("error: ")
    assert (await status(capsys, plane)).code == 0


async def test_restart_pause_resume_and_timeout(
    plane: Plane, agents: list[Agent], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await dsctl(capsys, plane.address, "apply", "-f", write(tmp_path, "v1"))
    assert (await status(capsys, plane)).code == 0

    restarted = await dsctl(capsys, plane.address, "rollout", "restart", "ds/web")
    assert restarted.out == "daemonset.apps/web restarted\n"
    assert (await status(capsys, plane)).code == 0
    history = await dsctl(capsys, plane.address, "rollout", "history", "ds/web")
    assert [line.split()[0] for line in history.out.splitlines()[2:]] == ["1", "2"]

    paused = await dsctl(capsys, plane.address, "rollout", "pause", "ds/web")
    assert paused.out == "daemonset.apps/web paused\n"
    again = await dsctl(capsys, plane.address, "rollout", "pause", "daemonset", "web")
    assert again.out == "daemonset.apps/web already paused\n"

    await dsctl(capsys, plane.address, "apply", "-f", write(tmp_path, "v2"))
    once = await dsctl(capsys, plane.address, "rollout", "status", "ds/web", "--watch=false")
    assert once.code == 0
    assert once.out.startswith('Waiting for daemon set "web" rollout to finish')
    assert len(once.out.splitlines()) == 1
    stuck = await dsctl(capsys, plane.address, "rollout", "status", "ds/web", "--timeout=300ms")
    assert stuck.code == 1
    assert stuck.err == "error: timed out waiting for the condition\n"

    resumed = await dsctl(capsys, plane.address, "rollout", "resume", "ds/web")
    assert resumed.out == "daemonset.apps/web resumed\n"
    assert (await status(capsys, plane)).code == 0
    no_ds = await dsctl(capsys, plane.address, "rollout", "status", "ds/nope", "--timeout=5s")
    assert no_ds.code == 1
    assert "not found" in no_ds.err


async def test_plan_exit_codes_and_expected_generation(
    plane: Plane, agents: list[Agent], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    v1 = write(tmp_path, "v1")
    new = await dsctl(capsys, plane.address, "plan", "-f", v1)
    assert new.code == 1, new.err
    assert new.out.startswith('+ DaemonSet: "web" (create)')
    for node in NODES:
        assert f"{node}: create" in new.out
    assert f"dsctl apply -f {v1} --expected-generation -1" in new.out

    await dsctl(capsys, plane.address, "apply", "-f", v1)
    # "No changes" compares with the pods placed, so let the controller place them.
    state = plane.feed.state
    await wait_until(
        lambda: {p.node_name for p in state.pods.values() if p.owner == ("default", "web")}
        == set(NODES),
        10,
        feed=plane.feed,
    )
    same = await dsctl(capsys, plane.address, "plan", "-f", v1)
    assert same.code == 0, same.out + same.err
    assert 'DaemonSet: "web" (no changes)' in same.out

    v2 = write(tmp_path, "v2")
    change = await dsctl(capsys, plane.address, "plan", "-f", v2)
    assert change.code == 1
    assert change.out.startswith('+/- DaemonSet: "web"')
    assert "+" in change.out
    assert "web:v2" in change.out
    for node in NODES:
        assert f"{node}: replace" in change.out
    assert "--expected-generation 1" in change.out

    stale = await dsctl(capsys, plane.address, "apply", "-f", v2, "--expected-generation", "7")
    assert stale.code == 1
    assert stale.err.startswith("error: conflict: ")
    ok = await dsctl(capsys, plane.address, "apply", "-f", v2, "--expected-generation", "1")
    assert ok.out == "daemonset.apps/web configured\n"

    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: DaemonSet\napiVersion: apps/v1\nspec: {}\n")
    error = await dsctl(capsys, plane.address, "plan", "-f", str(broken))
    assert error.code == 2
    assert error.err.startswith("error: ")


async def test_rollout_status_fails_past_the_progress_deadline(
    plane: Plane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifest = tmp_path / "stuck.yaml"
    manifest.write_text(
        TEMPLATE.format(version="v1").replace("spec:\n  selector:",
                                              "spec:\n  progressDeadlineSeconds: 1\n  selector:")
    )
    # Pods that never become ready within the test: the rollout stops progressing.
    async with running_agents(plane, ready_delay=3600):
        await dsctl(capsys, plane.address, "apply", "-f", str(manifest))
        failed = await status(capsys, plane)
    assert failed.code == 1
    assert failed.err.startswith('error: daemon set "web" rollout failed')
    assert len(failed.err.splitlines()) == 1


async def test_describe_daemon_set_node_and_pod_with_their_events(
    plane: Plane, agents: list[Agent], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await dsctl(capsys, plane.address, "apply", "-f", write(tmp_path, "v1"))
    assert (await status(capsys, plane)).code == 0

    ds = (await dsctl(capsys, plane.address, "describe", "ds", "web")).out
    assert "Name:" in ds
    assert "Desired Number of Nodes Scheduled:" in ds
    assert "Update Strategy:" in ds
    assert "RollingUpdate (maxUnavailable 1" in ds
    assert "Image:" in ds
    assert "web:v1" in ds
    assert "DaemonSetApplied" in ds
    assert "RolloutCompleted" in ds

    node = (await dsctl(capsys, plane.address, "describe", "node/node-1")).out
    assert "Status:" in node
    assert "Ready" in node
    assert "Pods:  (1 in total)" in node
    assert "PodStatusReported" in node

    pod_name = (await dsctl(capsys, plane.address, "get", "pods", "-o", "name",
                            "--field-selector", "spec.nodeName=node-2")).out.strip()
    pod = (await dsctl(capsys, plane.address, "describe", pod_name)).out
    assert "Controlled By:" in pod
    assert "DaemonSet/web" in pod
    assert "Node:" in pod
    assert "node-2" in pod
    assert "PodScheduled" in pod
    assert "PodStatusReported" in pod
    missing = await dsctl(capsys, plane.address, "describe", "pod", "nope")
    assert (missing.code, missing.err) == (1, 'error: pods "nope" not found\n')


async def test_rollout_status_ends_when_the_plane_recorded_it_complete_on_a_lost_node(
    plane: Plane, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # No agents: nodes registered by hand, pods reported ready and a node lost
    # as facts in the log, so that the lost node stays lost.
    async with grpc.aio.insecure_channel(plane.address) as channel:
        nodes = api_pb2_grpc.NodesStub(channel)  # type: ignore[no-untyped-call]
        for name in NODES[:2]:
            await nodes.Register(objects_pb2.Node(metadata=objects_pb2.ObjectMeta(name=name)))
    await dsctl(capsys, plane.address, "apply", "-f", write(tmp_path, "v1"))
    await wait_until(lambda: len(plane.feed.state.pods) == 2, feed=plane.feed)
    now = plane.config.clock.now
    for pod in list(plane.feed.state.pods.values()):
        ready = events_pb2.PodStatusReported(
            namespace="default", pod_name=pod.key[1], node_name=pod.node_name,
            phase="Running", ready=True,
        )
        await plane.store.append([NewEvent(f"node/{pod.node_name}",
                                           events_pb2.Event(pod_status_reported=ready),
                                           f"agent:{pod.node_name}", now())])
    ds = plane.feed.state.daemon_sets[("default", "web")]
    await wait_until(lambda: ds.rollout_complete, feed=plane.feed)
    lost = events_pb2.Event(node_lost=events_pb2.NodeLost(node_name=NODES[1]))
    await plane.feed.wait_for_seq(
        await plane.store.append([NewEvent(f"node/{NODES[1]}", lost, "controller", now())]), 10
    )

    done = await status(capsys, plane)
    assert done.code == 0, done.err
    assert done.out.startswith('daemon set "web" successfully rolled out (revision 1')
