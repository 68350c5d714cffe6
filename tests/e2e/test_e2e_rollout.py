"""A rolling update end to end: a real plane on SQLite, 20 simulated agents in a child
process (agents/swarm.py) over real gRPC, and the real `dsctl` console script.

The budgets are checked by replaying the log, not by sampling: the whole
SQLite file is read back and folded event by event, and at every seq after
the first rollout completed no more than maxUnavailable (25 % of 20 = 5) nodes
lack an available pod; with maxSurge 0 no node ever holds two pods of the set,
and with maxSurge 25 % (maxUnavailable 0) no more than 5 nodes hold two and
none is ever without an available pod. The decision check (replay --check)
must pass on the same file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from cli.dsctl_run import dsctl_process
from conftest import plane_config, stubs_for
from support import wait_for_event

from ctrlplane._proto.v1 import api_pb2, events_pb2, objects_pb2
from ctrlplane.bench.agents import Swarms, all_connected
from ctrlplane.domain.manifests import load_manifests
from ctrlplane.domain.state import ClusterState
from ctrlplane.replay.check import check_log
from ctrlplane.replay.sources import open_source
from ctrlplane.server import Plane

pytestmark = pytest.mark.slow

NODES = 20
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
    rollingUpdate: {{maxUnavailable: {unavailable}, maxSurge: {surge}}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: web:{version}
        command: [sleep, infinity]
"""


def web(version: str, unavailable: str, surge: str) -> objects_pb2.DaemonSet:
    text = WEB.format(version=version, unavailable=unavailable, surge=surge)
    obj = load_manifests(text, "web.yaml")[0].obj
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
            state = plane.feed.state
            await plane.feed.wait_for(lambda: all_connected(state, NODES), 30)
            yield plane, swarms
        finally:
            await swarms.stop()
    if plane.failure is not None:
        raise plane.failure


def rollout_completed(revision_hash: str = "") -> Callable[[events_pb2.Event], bool]:
    """Matches RolloutCompleted (for that template hash, if given)."""

    def matches(event: events_pb2.Event) -> bool:
        done = event.WhichOneof("kind") == "rollout_completed"
        return done and revision_hash in ("", event.rollout_completed.revision_hash)

    return matches


async def apply(plane: Plane, obj: objects_pb2.DaemonSet) -> events_pb2.Event:
    """Apply through the API; the DaemonSetApplied event it appended."""
    async with grpc.aio.insecure_channel(plane.address) as channel:
        reply = await stubs_for(channel).daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=obj))
    assert reply.changed
    [event] = await plane.store.read(reply.seq - 1, limit=1)
    assert event.WhichOneof("kind") == "daemon_set_applied"
    return event


@dataclass
class Replayed:
    """What the fold of the whole log said, seq by seq."""

    events: int = 0
    first_completed_seq: int = 0
    unavailable_at_first_completion: int = -1
    # After the first rollout completed: the most nodes without an available pod,
    # the most nodes with two pods of the set, the most pods of it on one node.
    peak_unavailable: int = 0
    peak_doubled: int = 0
    peak_per_node: int = 0
    first_doubled_seq: int = 0  # the first seq at which some node held two pods
    over_budget: list[tuple[int, int]] = field(default_factory=list)  # (seq, unavailable)
    final: ClusterState = field(default_factory=ClusterState)


def lacking_nodes(state: ClusterState) -> int:
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


async def replay(db: Path, unavailable_budget: int) -> Replayed:
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
                per_node = [len(pods) for pods in ds.pods_by_node.values()]
                doubled = sum(1 for n in per_node if n > 1)
                if doubled and not seen.first_doubled_seq:
                    seen.first_doubled_seq = event.seq
                if event.WhichOneof("kind") == "rollout_completed" and not seen.first_completed_seq:
                    seen.first_completed_seq = event.seq
                    seen.unavailable_at_first_completion = lacking_nodes(state)
                if seen.first_completed_seq:
                    lacking = lacking_nodes(state)
                    seen.peak_unavailable = max(seen.peak_unavailable, lacking)
                    seen.peak_doubled = max(seen.peak_doubled, doubled)
                    seen.peak_per_node = max(seen.peak_per_node, *per_node, 0)
                    if lacking > unavailable_budget:
                        seen.over_budget.append((event.seq, lacking))
    finally:
        await source.close()
    return seen


@pytest.mark.parametrize(
    ("unavailable", "surge", "unavailable_budget", "surge_budget"),
    [
        pytest.param("25%", "0", 5, 0, id="max-unavailable-25pct"),
        pytest.param("0", "25%", 0, 5, id="max-surge-25pct"),
    ],
)
async def test_rolling_update_over_20_nodes_keeps_its_budget_at_every_seq(
    tmp_path: Path, unavailable: str, surge: str, unavailable_budget: int, surge_budget: int
) -> None:
    db = tmp_path / "events.db"
    async with cluster(tmp_path) as (plane, _swarms):
        await apply(plane, web("v1", unavailable, surge))
        first = await dsctl_process(plane.address, "rollout", "status", "ds/web", "--timeout=30s")
        assert first.code == 0, first.err
        assert first.out.splitlines()[-1] == 'daemon set "web" successfully rolled out'
        await wait_for_event(plane.store, rollout_completed(), 10)

        applied = await apply(plane, web("v2", unavailable, surge))
        v2_hash = applied.daemon_set_applied.template_hash
        # The real console script follows the rolling update to its end.
        second = await dsctl_process(plane.address, "rollout", "status", "ds/web", "--timeout=30s")
        assert second.code == 0, second.err
        lines = second.out.splitlines()
        assert lines[-1] == 'daemon set "web" successfully rolled out'
        for line in lines[:-1]:
            assert line.startswith('Waiting for daemon set "web" rollout to finish: '), line
        await wait_for_event(plane.store, rollout_completed(v2_hash), 10, after_seq=applied.seq)

    seen = await replay(db, unavailable_budget)  # the whole file, after everything stopped
    assert seen.first_completed_seq, "the first rollout never completed in the log"
    assert seen.unavailable_at_first_completion == 0
    over = seen.over_budget[:5]
    assert not over, f"more than {unavailable_budget} nodes unavailable (seq, count): {over}"
    if surge_budget == 0:
        assert not seen.first_doubled_seq, f"two pods on one node at seq {seen.first_doubled_seq}"
        assert seen.peak_unavailable >= 1, "the rolling update never replaced a pod"
    else:
        assert seen.first_doubled_seq > seen.first_completed_seq, "no pod was surged"
        assert 1 <= seen.peak_doubled <= surge_budget
        assert seen.peak_per_node == 2
    final = seen.final
    ds = final.daemon_sets[KEY]
    assert len(final.nodes) == NODES
    assert ds.hash_counts == {v2_hash: NODES}
    assert lacking_nodes(final) == 0

    source = await open_source(str(db))
    try:
        report = await check_log(source)
    finally:
        await source.close()
    assert report.ok, report.text()
    assert report.events == seen.events
    assert report.decisions >= 3 * NODES  # 20 first pods, 20 new pods, 20 old ones deleted
