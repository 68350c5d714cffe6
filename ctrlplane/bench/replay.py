"""Replay benchmark: fold speed of a big SQLite log, and restart time with a snapshot.

    scripts/bench replay [--events=N] [--nodes=N] [--db=PATH]

Figures, each beside a baseline measured in the same run:
- read+decode: every row read and decoded into Events, nothing folded (baseline);
- fold: the same rows read, decoded and folded into a ClusterState; ratio to baseline
  (target >= 0.5);
- snapshot write and `load_state` (newest snapshot + tail) beside a full fold;
- restart-to-serving: a real Plane started on the log until Events.Head answers
  (target <= 5 s at 1,000,000 events).

The log is a synthetic but realistic history built through the real store and
the real reconcile: nodes registered and connected, two daemon sets scheduled,
then agents' status reports, label changes and rolling updates to fill it up.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain.revisions import template_hash
from ctrlplane.domain.state import ClusterState
from ctrlplane.domain.streams import daemon_set_stream, node_stream
from ctrlplane.eventlog.base import EventStore, NewEvent

T0 = 1_764_400_000.0


def _options(options: list[str]) -> dict[str, str]:
    parsed = {}
    for option in options:
        key, _, value = option.lstrip("-").partition("=")
        parsed[key] = value
    return parsed


def _daemon_set(name: str, image: str, generation: int) -> objects_pb2.DaemonSet:
    ds = objects_pb2.DaemonSet(api_version="apps/v1", kind="DaemonSet")
    ds.metadata.name = name
    ds.metadata.namespace = "default"
    ds.metadata.generation = generation
    ds.spec.selector.match_labels["app"] = name
    template = ds.spec.template
    template.metadata.labels["app"] = name
    container = template.spec.containers.add(name=name, image=image)
    container.command.extend(["sleep", "infinity"])
    template.spec.restart_policy = "Always"
    template.spec.node_selector["role"] = "worker"
    ds.spec.update_strategy.type = "RollingUpdate"
    ds.spec.update_strategy.rolling_update.max_unavailable = "100%"
    ds.spec.update_strategy.rolling_update.max_surge = "0"
    ds.spec.revision_history_limit = 10
    return ds


class _Writer:
    """Appends facts and runs the real reconcile over the folded state, like a plane."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.state = ClusterState()
        self.buffer: list[NewEvent] = []
        self.time = T0
        self.count = 0

    async def fact(self, stream: str, payload: events_pb2.Event, actor: str) -> None:
        self.buffer.append(NewEvent(stream, payload, actor, self.time))
        if len(self.buffer) >= 5_000:
            await self.flush()

    async def flush(self) -> None:
        if not self.buffer:
            return
        last = await self.store.append(self.buffer)
        self.count += len(self.buffer)
        self.buffer = []
        async for batch in self.store.iterate(self.state.seq, until_seq=last):
            for event in batch:
                self.state.apply(event)

    async def controller(self) -> None:
        from ctrlplane.controller.reconcile import reconcile

        await self.flush()
        while True:
            cause = self.state.seq
            decisions = []
            for key in sorted(self.state.daemon_sets):
                decisions.extend(reconcile(self.state, key, self.time).decisions)
            if not decisions:
                return
            self.buffer = [NewEvent(d.stream, d.payload, "controller", self.time, cause)
                           for d in decisions]
            await self.flush()
            await self.report_ready()

    async def report_ready(self) -> None:
        for pod in list(self.state.pods.values()):
            if pod.phase != "Running" or not pod.ready:
                await self.fact(node_stream(pod.node_name), _report(pod.key[1], pod.node_name,
                                                                   pod.restart_count), "agent")
        await self.flush()


def _report(pod: str, node: str, restarts: int, ready: bool = True) -> events_pb2.Event:
    return events_pb2.Event(pod_status_reported=events_pb2.PodStatusReported(
        namespace="default", pod_name=pod, node_name=node, phase="Running", ready=ready,
        restart_count=restarts))


async def build_log(store: EventStore, events: int, nodes: int) -> None:
    w = _Writer(store)
    for i in range(nodes):
        name = f"node-{i:05d}"
        node = objects_pb2.Node(api_version="v1", kind="Node")
        node.metadata.name = name
        node.metadata.labels["role"] = "worker"
        node.metadata.labels["zone"] = f"z{i % 4}"
        await w.fact(node_stream(name), events_pb2.Event(
            node_registered=events_pb2.NodeRegistered(node=node)), f"agent:{name}")
        await w.fact(node_stream(name), events_pb2.Event(
            node_connected=events_pb2.NodeConnected(node_name=name)), f"agent:{name}")
    generation = 1
    for name in ("fluentd", "node-exporter"):
        ds = _daemon_set(name, f"{name}:v1", generation)
        await w.fact(daemon_set_stream("default", name), events_pb2.Event(
            daemon_set_applied=events_pb2.DaemonSetApplied(
                daemon_set=ds, template_hash=template_hash(ds.spec.template))), "user:bench")
    await w.controller()
    rollout_every = max(events // 4, 50_000)
    next_rollout = w.count + rollout_every
    while w.count + len(w.buffer) < events:
        w.time += 0.01
        pods = list(w.state.pods.values())
        for pod in pods[: min(len(pods), events - w.count - len(w.buffer))]:
            flip = (w.count + len(w.buffer)) % 3 == 0
            await w.fact(node_stream(pod.node_name),
                         _report(pod.key[1], pod.node_name, pod.restart_count + flip, True),
                         f"agent:{pod.node_name}")
        if w.count >= next_rollout:
            next_rollout += rollout_every
            generation += 1
            ds = _daemon_set("fluentd", f"fluentd:v{generation}", generation)
            await w.fact(daemon_set_stream("default", "fluentd"), events_pb2.Event(
                daemon_set_applied=events_pb2.DaemonSetApplied(
                    daemon_set=ds, template_hash=template_hash(ds.spec.template))),
                "user:bench")
            await w.controller()
    await w.flush()


async def _timed_read(store: EventStore) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    async for batch in store.iterate(0):
        count += len(batch)
    return count, time.perf_counter() - start


async def _timed_fold(store: EventStore) -> tuple[ClusterState, float]:
    start = time.perf_counter()
    state = ClusterState()
    async for batch in store.iterate(0):
        apply = state.apply
        for event in batch:
            apply(event)
    return state, time.perf_counter() - start


async def _restart_to_serving(db: Path) -> float:
    import grpc

    from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc
    from ctrlplane.server import Plane, PlaneConfig

    start = time.perf_counter()
    plane = Plane(PlaneConfig(db_path=db, listen="127.0.0.1:0", run_controller=True))
    await plane.start()
    try:
        async with grpc.aio.insecure_channel(plane.address) as channel:
            stub = api_pb2_grpc.EventsStub(channel)  # type: ignore[no-untyped-call]
            await stub.Head(api_pb2.Empty())
        return time.perf_counter() - start
    finally:
        await plane.stop()


async def run(options: dict[str, str]) -> None:
    from ctrlplane.eventlog.sqlite import SqliteEventStore
    from ctrlplane.replay.snapshots import list_snapshots, load_state, write_snapshot

    events = int(options.get("events", "1000000"))
    nodes = int(options.get("nodes", "1000"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    db = Path(options["db"]) if options.get("db") else tmp / "events.db"
    try:
        store = await SqliteEventStore.open(str(db))
        try:
            if await store.head() < events:
                start = time.perf_counter()
                await build_log(store, events, nodes)
                print(f"built log: {await store.head():,} events, {nodes} nodes "
                      f"in {time.perf_counter() - start:.1f} s")
        finally:
            await store.close()

        store = await SqliteEventStore.open(str(db), read_only=True)
        try:
            count, t_read = await _timed_read(store)
            state, t_fold = await _timed_fold(store)
            print(f"read+decode (baseline): {count / t_read:>12,.0f} events/s  ({t_read:.2f} s)")
            print(f"read+decode+fold:       {count / t_fold:>12,.0f} events/s  ({t_fold:.2f} s)  "
                  f"ratio {t_read / t_fold:.2f} (target >= 0.50)")
            print(f"  state: {len(state.nodes)} nodes, {len(state.daemon_sets)} daemon sets, "
                  f"{len(state.pods)} pods")
            start = time.perf_counter()
            path = await write_snapshot(store, db, state)
            t_write = time.perf_counter() - start
            print(f"snapshot write:         {t_write:.2f} s  ({path.stat().st_size / 1e6:.1f} MB)")
            start = time.perf_counter()
            loaded = await load_state(store, db)
            t_load = time.perf_counter() - start
            assert loaded == state, "snapshot + tail differs from the full fold"
            print(f"load_state (snapshot):  {t_load:.2f} s  vs full fold {t_fold:.2f} s  "
                  f"ratio {t_fold / max(t_load, 1e-9):.1f}x faster")
        finally:
            await store.close()

        t_empty = await _restart_to_serving(tmp / "empty.db")
        t_serving = await _restart_to_serving(db)
        print(f"plane start, empty log: {t_empty:.2f} s (baseline)")
        print(f"restart-to-serving:     {t_serving:.2f} s  (the plane as wired now; "
              f"{len(list_snapshots(db))} snapshot(s) beside the log; target <= 5 s)")
        print(f"  with load_snapshot wired into the plane: ~{t_empty + t_load:.2f} s "
              f"(empty start + load_state)")
    finally:
        if not options.get("db"):
            shutil.rmtree(tmp, ignore_errors=True)


def main(options: list[str]) -> None:
    asyncio.run(run(_options(options)))
