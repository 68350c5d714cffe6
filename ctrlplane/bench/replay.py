"""Replay benchmark: fold speed of a big SQLite log, and restart time with a snapshot.

    scripts/bench replay [--events=N] [--nodes=N] [--db=PATH]

Figures, each beside a baseline measured in the same run:
- read+decode: every row read and decoded into Events, nothing folded (baseline);
- fold: the same rows read, decoded and folded into a ClusterState as the plane's
  start-up fold does (no Touched); ratio to baseline (target >= 0.5); beside it
  the live path (`apply`, a Touched per event);
- restart-to-serving of the real Plane (health SERVING, then a first Events.Head),
  beside a start on an empty log: cold (no snapshot), after a graceful stop (its
  snapshot at the head), and after a crash (a snapshot DEFAULT_EVERY events
  behind). Target <= 5 s at 1,000,000 events.

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
from ctrlplane.domain.state import ClusterState, fold
from ctrlplane.domain.streams import daemon_set_stream, node_stream
from ctrlplane.eventlog.base import EventStore, NewEvent
from ctrlplane.server import Plane, PlaneConfig

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
            fold(batch, self.state)

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


async def _timed_fold(store: EventStore, *, live: bool = False) -> tuple[ClusterState, float]:
    """The start-up fold (no Touched), or with `live` the tail's path (a Touched per event)."""
    start = time.perf_counter()
    state = ClusterState()
    async for batch in store.iterate(0):
        if live:
            apply = state.apply
            for event in batch:
                apply(event)
        else:
            fold(batch, state)
    return state, time.perf_counter() - start


async def _start_plane(db: Path) -> tuple[Plane, float, float]:
    """Start the real Plane on `db`: (plane, seconds to health SERVING, to a first RPC)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc

    start = time.perf_counter()
    plane = Plane(PlaneConfig(db_path=db, listen="127.0.0.1:0", run_controller=True))
    await plane.start(wait_ready=False)
    async with grpc.aio.insecure_channel(plane.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="")
        serving = health_pb2.HealthCheckResponse.SERVING
        watch = health.Watch(request)  # streams every status change
        async for response in watch:
            if response.status == serving:
                break
        watch.cancel()
        t_health = time.perf_counter() - start
        stub = api_pb2_grpc.EventsStub(channel)  # type: ignore[no-untyped-call]
        await stub.Head(api_pb2.Empty())
        t_rpc = time.perf_counter() - start
    return plane, t_health, t_rpc


async def _restart(db: Path, label: str, baseline: float | None = None) -> float:
    plane, t_health, t_rpc = await _start_plane(db)
    seq = plane.snapshot_seq
    start = time.perf_counter()
    await plane.stop()
    t_stop = time.perf_counter() - start
    ratio = f"  ratio to the empty start {t_rpc / baseline:.1f}x" if baseline else ""
    print(f"{label:<32} serving {t_health:6.2f} s, first RPC {t_rpc:6.2f} s  "
          f"(from snapshot at seq {seq:,}; stop {t_stop:.2f} s){ratio}")
    return t_rpc


async def run(options: dict[str, str]) -> None:
    from ctrlplane.eventlog.sqlite import SqliteEventStore
    from ctrlplane.replay.snapshots import (
        DEFAULT_EVERY,
        list_snapshots,
        load_state,
        snapshot_dir,
        write_snapshot,
    )

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
        shutil.rmtree(snapshot_dir(db), ignore_errors=True)  # a cold start first

        store = await SqliteEventStore.open(str(db), read_only=True)
        try:
            count, t_read = await _timed_read(store)
            state, t_fold = await _timed_fold(store)
            _, t_live = await _timed_fold(store, live=True)
            print(f"read+decode (baseline): {count / t_read:>12,.0f} events/s  ({t_read:.2f} s)")
            print(f"read+decode+fold:       {count / t_fold:>12,.0f} events/s  ({t_fold:.2f} s)  "
                  f"ratio {t_read / t_fold:.2f} (target >= 0.50; the start-up fold, no Touched)")
            print(f"  with a Touched/event: {count / t_live:>12,.0f} events/s  ({t_live:.2f} s)  "
                  f"ratio {t_read / t_live:.2f} (the live path, for comparison)")
            print(f"  fold alone: {(t_fold - t_read) / count * 1e6:.2f} us/event; with Touched "
                  f"{(t_live - t_read) / count * 1e6:.2f} us/event")
            print(f"  state: {len(state.nodes)} nodes, {len(state.daemon_sets)} daemon sets, "
                  f"{len(state.pods)} pods")
        finally:
            await store.close()

        # The real Plane, as wired: a cold start folds everything; its stop
        # writes a snapshot; the restart loads it and folds the tail.
        t_empty = await _restart(tmp / "empty.db", "plane start, empty log (baseline):")
        await _restart(db, "cold start, no snapshot:", t_empty)
        snaps = list_snapshots(db)
        print(f"  snapshot written on stop: seq {snaps[0].seq:,}, "
              f"{snaps[0].path.stat().st_size / 1e6:.1f} MB")
        t_warm = await _restart(db, "restart-to-serving:", t_empty)

        # After a SIGKILL no snapshot is written on stop: the newest is the
        # last periodic one, up to DEFAULT_EVERY events behind the head.
        behind = min(DEFAULT_EVERY, count // 2)
        store = await SqliteEventStore.open(str(db), read_only=True)
        try:
            shutil.rmtree(snapshot_dir(db), ignore_errors=True)
            old = await load_state(store, db, until_seq=count - behind)
            await write_snapshot(store, db, old)
        finally:
            await store.close()
        t_crash = await _restart(db, f"restart, snapshot {behind:,} behind:", t_empty)
        print(f"restart-to-serving at {count:,} events: {t_warm:.2f} s after a stop, "
              f"{t_crash:.2f} s after a crash (target <= 5 s)")
    finally:
        if not options.get("db"):
            shutil.rmtree(tmp, ignore_errors=True)


def main(options: list[str]) -> None:
    asyncio.run(run(_options(options)))
