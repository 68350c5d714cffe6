"""A rolling update end to end: a real plane on SQLite, 20 simulated agents in a child
process (agents/swarm.py) over real gRPC, and the real `dsctl` console script.

The budget is checked by replaying the log, not by sampling: the whole SQLite
file is read back and folded event by event, and at every seq after the first
rollout completed no more than maxUnavailable (25 % of 20 = 5) nodes lack an
available pod, and no node ever holds two pods of the set (maxSurge 0). The
decision check (replay --check) must pass on the same file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from cli.dsctl_run import dsctl_process
from conftest import plane_config, stubs_for
from support import wait_for_event

from ctrlplane._proto.v1 import api_pb2, events_pb2, objects_pb2
from ctrlplane.bench.agents import Swarms
from ctrlplane.domain.manifests import load_manifests
from ctrlplane.domain.state import ClusterState
from ctrlplane.replay.check import check_log
from ctrlplane.replay.sources import open_source
from ctrlplane.server import Plane

NODES = 20
BUDGET = 5  # maxUnavailable 25 % of 20 desired nodes
KEY = ("default", "web")

WEB = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: web
spec:
  minReadySeconds: 0
  selector:
    matchLabels: {{app: web}}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: 25%, maxSurge: 0}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: web:{version}
        command: [sleep, infinity]
"""


def web(version: str) -> objects_pb2.DaemonSet:
    obj = load_manifests(WEB.format(version=version), "web.yaml")[0].obj
    assert isinstance(obj, objects_pb2.DaemonSet)
    return obj


@asynccontextmanager
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[Plane, Swarms]]:
    """A plane and NODES simulated agents in one child process, all connected.

    Long leases: a loaded CI box must not turn a slow heartbeat into NodeLost.
    Pods become ready 50 ms after they start, so each wave of the rollout has
    nodes without an available pod for a while.
    """
    config = plane_config(tmp_path, lease_seconds=30.0, heartbeat_interval=5.0)
    async with Plane(config) as plane:
        swarms = await Swarms.start(plane.address, NODES, NODES, "--ready-delay", "0.05")
        try:
            await swarms.wait(lambda: all(swarms.connected), 30)
            # Every node in the plane's state before the first apply, so the
            # first rollout covers all of them.
            nodes = plane.feed.state.nodes
            await plane.feed.wait_for(
                lambda: len(nodes) == NODES and all(n.connected for n in nodes.values()), 30
            )
            yield plane, swarms
        finally:
            await swarms.stop()
    if plane.failure is not None:
        raise plane.failure


def rollout_completed(revision_hash: str | None = None):  # type: ignore[no-untyped-def]
    def matches(event: events_pb2.Event) -> bool:
        done = event.WhichOneof("kind") == "rollout_completed"
        return done and revision_hash in (None, event.rollout_completed.revision_hash)

    return matches


async def apply(plane: Plane, obj: objects_pb2.DaemonSet) -> events_pb2.Event:
    async with grpc.aio.insecure_channel(plane.address) as channel:
        await stubs_for(channel).daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=obj))
    return await wait_for_event(
        plane.store, lambda e: e.WhichOneof("kind") == "daemon_set_applied"
        and e.daemon_set_applied.daemon_set.spec.template.spec.containers[0].image
        == obj.spec.template.spec.containers[0].image,
    )  # fmt: skip


@dataclass
class Replayed:
    """What the fold of the whole log said, seq by seq."""

    events: int = 0
    first_completed_seq: int = 0
    unavailable_at_first_completion: int = -1
    peak_unavailable: int = 0  # after the first rollout completed
    over_budget: list[tuple[int, int]] = field(default_factory=list)  # (seq, unavailable)
    doubled: list[tuple[int, str]] = field(default_factory=list)  # (seq, node)
    final: ClusterState = field(default_factory=ClusterState)


def unavailable(state: ClusterState) -> int:
    """Desired nodes (every node: no selector, no taints) without an available web pod.

    minReadySeconds is 0, so a pod is available as soon as it is ready; a pod
    on a lost node is not available.
    """
    ds = state.daemon_sets[KEY]
    lacking = 0
    for name, node in state.nodes.items():
        names = ds.pods_by_node.get(name, ())
        if node.lost or not any(state.pods[(KEY[0], pod)].ready for pod in names):
            lacking += 1
    return lacking


async def replay(db: Path) -> Replayed:
    seen = Replayed()
    state = seen.final
    source = await open_source(str(db))
    try:
        async for batch in source.iterate(0):
            for event in batch:
                seen.events += 1
                assert event.seq == seen.events, "the log has a gap"
                state.apply(event)
                ds = state.daemon_sets.get(KEY)
                if ds is None:
                    continue
                seen.doubled.extend(
                    (event.seq, node) for node, pods in ds.pods_by_node.items() if len(pods) > 1
                )
                if event.WhichOneof("kind") == "rollout_completed" and not seen.first_completed_seq:
                    seen.first_completed_seq = event.seq
                    seen.unavailable_at_first_completion = unavailable(state)
                if seen.first_completed_seq:
                    lacking = unavailable(state)
                    seen.peak_unavailable = max(seen.peak_unavailable, lacking)
                    if lacking > BUDGET:
                        seen.over_budget.append((event.seq, lacking))
    finally:
        await source.close()
    return seen


async def test_rolling_update_over_20_nodes_keeps_the_budget_at_every_seq(
    tmp_path: Path,
) -> None:
    db = tmp_path / "events.db"
    async with cluster(tmp_path) as (plane, _swarms):
        await apply(plane, web("v1"))
        first = await dsctl_process(plane.address, "rollout", "status", "ds/web", "--timeout=30s")
        assert first.code == 0, first.err
        assert first.out.splitlines()[-1] == 'daemon set "web" successfully rolled out'
        await wait_for_event(plane.store, rollout_completed(), 10)

        applied = await apply(plane, web("v2"))
        v2_hash = applied.daemon_set_applied.template_hash
        # The real console script follows the rolling update to its end.
        second = await dsctl_process(plane.address, "rollout", "status", "ds/web", "--timeout=30s")
        assert second.code == 0, second.err
        lines = second.out.splitlines()
        assert lines[-1] == 'daemon set "web" successfully rolled out'
        for line in lines[:-1]:
            assert line.startswith('Waiting for daemon set "web" rollout to finish: '), line
        await wait_for_event(plane.store, rollout_completed(v2_hash), 10, after_seq=applied.seq)

    seen = await replay(db)  # the whole file, after the plane and the agents stopped
    assert seen.first_completed_seq, "the first rollout never completed in the log"
    assert seen.unavailable_at_first_completion == 0
    assert not seen.doubled, f"two pods of ds/web on one node (seq, node): {seen.doubled[:5]}"
    assert not seen.over_budget, f"more than {BUDGET} nodes unavailable: {seen.over_budget[:5]}"
    assert seen.peak_unavailable >= 1, "the rolling update never replaced a pod"
    final = seen.final
    ds = final.daemon_sets[KEY]
    assert len(final.nodes) == NODES
    assert ds.hash_counts == {v2_hash: NODES}
    assert unavailable(final) == 0

    source = await open_source(str(db))
    try:
        report = await check_log(source)
    finally:
        await source.close()
    assert report.ok, report.text()
    assert report.events == seen.events
    assert report.decisions >= 3 * NODES  # 20 first pods, then 20 deletions and 20 new pods
