"""Rollout benchmark: a rolling update across N simulated nodes, end to end.

`python -m ctrlplane.bench rollout --nodes=1000,10000` (default 10000;
`--per-process=2500` agents per swarm process; `--unavailable=10%`). The plane
runs in this process on a temp SQLite file; the agents are `agents.swarm`
child processes over real gRPC with instant readiness. For each N, in one run:

- baseline: apply a DaemonSet (RollingUpdate, maxUnavailable 10 %); time until
  every pod's Running+Ready status is folded from the log (initial convergence
  of the same N agents);
- rollout: apply a new template; time until every node runs an updated,
  available pod and RolloutCompleted for the new template is in the log,
  reported as a ratio to the baseline, beside the theoretical number of waves
  (ceil(100 / 10) = 10), the controller passes that replaced pods, and the
  plane's CPU time in that interval (the rest is waiting on agents and I/O)
  with the cyclic GC's share;
- afterwards, from the log read back: the most nodes without an available pod
  at any seq of the rollout (must stay within the budget), and what one pure
  reconcile pass costs on the state folded to mid-rollout.

`--profile=PATH` runs cProfile over this process (the plane) during the rollout
of the last size, writes the stats to PATH and prints the top functions.
`--plane-gc=tuned` (the default) sets the collector as `ctrlplane serve` does
(server.tune_gc_for_serving); `--plane-gc=default` keeps CPython's. Owns
nothing but measurement: it never changes the plane's behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import math
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2, objects_pb2
from ctrlplane.bench.agents import (
    Swarms,
    all_connected,
    plane_config,
    ready_everywhere,
    start_plane,
)
from ctrlplane.controller.reconcile import reconcile
from ctrlplane.domain.state import ClusterState, DaemonSetState
from ctrlplane.server import Plane, tune_gc_for_serving

KEY = ("default", "fluentd")
TARGET_SECONDS = 20.0


def daemon_set(version: str, unavailable: str) -> objects_pb2.DaemonSet:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": KEY[1], "namespace": KEY[0]},
        "spec": {
            "selector": {"matchLabels": {"app": "fluentd"}},
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": unavailable, "maxSurge": "0"},
            },
            "template": {
                "metadata": {"labels": {"app": "fluentd"}},
                "spec": {
                    "containers": [
                        {
                            "name": "fluentd",
                            "image": f"fluent/fluentd:{version}",
                            "command": ["fluentd", "-c", "/etc/fluent/fluent.conf"],
                        }
                    ]
                },
            },
        },
    }
    return json_format.ParseDict(body, objects_pb2.DaemonSet())


def unavailable_budget(nodes: int, unavailable: str) -> int:
    """maxUnavailable in nodes: a percent of desired rounded up, as the planner does."""
    if unavailable.endswith("%"):
        return max(1, math.ceil(nodes * int(unavailable[:-1]) / 100))
    return max(1, int(unavailable))


def theoretical_waves(nodes: int, unavailable: str) -> int:
    """Rollout waves if each wave replaces a full budget."""
    return math.ceil(nodes / unavailable_budget(nodes, unavailable))


def rolled_out(ds: DaemonSetState | None, template_hash: str, nodes: int) -> bool:
    """Every node runs a pod of `template_hash`, all ready, and RolloutCompleted is folded."""
    return (
        ds is not None
        and ds.template_hash == template_hash
        and ds.rollout_complete
        and ds.hash_counts.get(template_hash, 0) == nodes
        and ds.pod_count == nodes
        and ds.ready_count == nodes
    )


@dataclass
class PassStats:
    passes: int  # controller passes that deleted old pods for the rollout
    largest: int  # the most old pods one pass deleted
    peak_unavailable: int  # most nodes without an available pod at any seq of the rollout
    full_ms: float  # one full reconcile of the set, folded to mid-rollout
    limited_ms: float  # the same limited to a budget's worth of nodes (as the live loop does)


def lacks_pod(state: ClusterState, node_name: str) -> bool:
    """The node has no available pod of the set (minReadySeconds is 0 here: ready is enough)."""
    node = state.nodes.get(node_name)
    ds = state.daemon_sets[KEY]
    names = ds.pods_by_node.get(node_name, ())
    return node is None or node.lost or not any(state.pods[(KEY[0], n)].ready for n in names)


def touched_node(event: events_pb2.Event) -> str:
    kind = event.WhichOneof("kind")
    if kind in ("pod_scheduled", "pod_deleted", "pod_status_reported"):
        return str(getattr(event, kind).node_name)
    if kind in ("node_lost", "node_connected", "node_disconnected"):
        return str(getattr(event, kind).node_name)
    return ""


async def pass_stats(plane: Plane, after_seq: int, nodes: int, unavailable: str) -> PassStats:
    """Replay the log read back from the store: passes, peak unavailability, pass cost.

    Unavailability is counted at every seq of the rollout, incrementally (only
    the node an event names can change). The pass cost is the pure reconcile
    timed on the state folded to the middle replacement: what one pass costs
    at this size, independent of the agents and the event loop.
    """
    per_pass: Counter[tuple[int, float]] = Counter()
    deletions: list[int] = []
    async for batch in plane.store.iterate(after_seq):
        for event in batch:
            if (
                event.WhichOneof("kind") == "pod_deleted"
                and event.pod_deleted.reason == "RollingUpdate"
            ):
                per_pass[(event.cause_seq, event.time)] += 1
                deletions.append(event.seq)
    mid = deletions[len(deletions) // 2] if deletions else -1
    scope = [f"swarm-{i}" for i in range(unavailable_budget(nodes, unavailable))]
    state = ClusterState()
    lacking: set[str] = set()
    peak = 0
    full_ms = limited_ms = 0.0

    def best_ms(limit: list[str] | None) -> float:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            reconcile(state, KEY, state.time, nodes=limit)
            times.append(time.perf_counter() - t0)
        return min(times) * 1000

    async for batch in plane.store.iterate(0):
        for event in batch:
            state.apply(event)
            if event.seq == after_seq:
                lacking = {name for name in state.nodes if lacks_pod(state, name)}
            elif event.seq > after_seq:
                name = touched_node(event)
                if name and lacks_pod(state, name):
                    lacking.add(name)
                else:
                    lacking.discard(name)
                peak = max(peak, len(lacking))
            if event.seq == mid:
                full_ms, limited_ms = best_ms(None), best_ms(scope)
    return PassStats(
        passes=len(per_pass),
        largest=max(per_pass.values(), default=0),
        peak_unavailable=peak,
        full_ms=full_ms,
        limited_ms=limited_ms,
    )


async def apply(plane: Plane, obj: objects_pb2.DaemonSet) -> None:
    async with grpc.aio.insecure_channel(plane.address) as channel:
        stub = api_pb2_grpc.DaemonSetsStub(channel)  # type: ignore[no-untyped-call]
        await stub.Apply(api_pb2.ApplyRequest(daemon_set=obj))


class GcTimer:
    """Time spent in the cyclic GC while installed (gc.callbacks), per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.seconds[generation] += time.perf_counter() - self._started
            self.counts[generation] += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def text(self) -> str:
        parts = ", ".join(
            f"gen{g} {n} x {t:.2f} s"
            for g, (n, t) in enumerate(zip(self.counts, self.seconds, strict=True))
        )
        return f"GC {sum(self.seconds):.2f} s ({parts})"


def print_profile(profile: cProfile.Profile, path: Path) -> None:
    profile.dump_stats(str(path))
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(25)
        text = out.getvalue()
        start = text.find("   ncalls")
        print(f"  -- plane profile during the rollout, by {order} (full stats: {path})")
        print(text[start:].rstrip(), flush=True)


def summary(state: ClusterState) -> str:
    ds = state.daemon_sets.get(KEY)
    if ds is None:
        return f"seq {state.seq}, {len(state.nodes)} nodes, no daemon set"
    return (
        f"seq {state.seq}, {len(state.nodes)} nodes ({len(state.lost_nodes)} lost), "
        f"pods {ds.pod_count}, ready {ds.ready_count}, by hash {ds.hash_counts}, "
        f"current {ds.template_hash}, complete {ds.rollout_complete}"
    )


async def settle(plane: Plane, predicate: Callable[[], bool], limit: float, what: str) -> None:
    """Wait until `predicate` holds on the plane's state; say where it stood if it never did."""
    try:
        await plane.feed.wait_for(predicate, limit)
    except TimeoutError:
        raise RuntimeError(
            f"{what}: not reached within {limit} s; {summary(plane.feed.state)}"
        ) from None


async def timed_rollout(
    plane: Plane, obj: objects_pb2.DaemonSet, nodes: int, profile: cProfile.Profile | None
) -> tuple[float, float, GcTimer]:
    """Apply `obj` and wait until rolled out: wall seconds, plane CPU seconds, GC time."""
    state = plane.feed.state
    before = state.daemon_sets[KEY].template_hash
    with GcTimer() as gc_timer:
        if profile is not None:
            profile.enable()
        t0, cpu0 = time.perf_counter(), time.process_time()
        await apply(plane, obj)
        await settle(
            plane, lambda: state.daemon_sets[KEY].template_hash != before, 60, "new template"
        )
        after = state.daemon_sets[KEY].template_hash
        await settle(
            plane, lambda: rolled_out(state.daemon_sets.get(KEY), after, nodes), 600, "rollout"
        )
        took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if profile is not None:
            profile.disable()
    return took, cpu, gc_timer


async def run_size(
    nodes: int, per: int, unavailable: str, tuned_gc: bool, profile_to: Path | None
) -> None:
    label = f"N={nodes:>6}"
    with tempfile.TemporaryDirectory(prefix="ctrlplane-bench-rollout-") as tmp:
        plane = await start_plane(plane_config(Path(tmp) / "events.db", "127.0.0.1:0"), tuned_gc)
        swarms = await Swarms.start(plane.address, nodes, per, "--backoff-cap", "5")
        try:
            state: ClusterState = plane.feed.state
            t0 = time.perf_counter()
            await swarms.wait(lambda: all(swarms.connected), 300)
            await settle(plane, lambda: all_connected(state, nodes), 300, "agents connected")
            print(f"  {label}  {nodes} agents connected in {time.perf_counter() - t0:.1f} s")

            # Baseline: the initial convergence of the same agents.
            t0 = time.perf_counter()
            await apply(plane, daemon_set("v1", unavailable))
            await settle(plane, lambda: ready_everywhere(state, KEY, nodes), 300, "convergence")
            converge = time.perf_counter() - t0
            first = state.daemon_sets[KEY].template_hash
            await settle(
                plane,
                lambda: rolled_out(state.daemon_sets.get(KEY), first, nodes),
                60,
                "first rollout",
            )
            print(
                f"  {label}  baseline: initial convergence {converge:7.3f} s "
                f"(all {nodes} Running+Ready in the log)",
                flush=True,
            )

            # The rolling update.
            start_seq = state.seq
            profile = cProfile.Profile() if profile_to is not None else None
            took, cpu, gc_timer = await timed_rollout(
                plane, daemon_set("v2", unavailable), nodes, profile
            )
            events = state.seq - start_seq
            stats = await pass_stats(plane, start_seq, nodes, unavailable)
            waves = theoretical_waves(nodes, unavailable)
            budget = unavailable_budget(nodes, unavailable)
            verdict = "meets" if took <= TARGET_SECONDS else "MISSES"
            print(
                f"  {label}  rollout {took:7.3f} s = {took / converge:5.2f} x initial convergence"
                f"   ({verdict} the target <= {TARGET_SECONDS:.0f} s)\n"
                f"  {label}    maxUnavailable {unavailable}: theoretical waves {waves} "
                f"({took / waves:.3f} s a wave = {took / waves / converge:.2f} x convergence); "
                f"{stats.passes} controller passes replaced pods, at most {stats.largest} in one, "
                f"at most {stats.peak_unavailable} nodes unavailable at any seq "
                f"(budget {budget}{', OVER BUDGET' if stats.peak_unavailable > budget else ''}); "
                f"{events} events ({events / took:,.0f} events/s); "
                f"plane CPU {cpu:.2f} s of the {took:.2f} s, of it {gc_timer.text()}\n"
                f"  {label}    one reconcile pass at mid-rollout: {stats.full_ms:.1f} ms full, "
                f"{stats.limited_ms:.1f} ms limited to {budget} nodes; "
                f"x {stats.passes} passes = {stats.limited_ms * stats.passes / 1000:.2f} s "
                f"of planner CPU",
                flush=True,
            )
            if profile is not None and profile_to is not None:
                print_profile(profile, profile_to)
        finally:
            await swarms.stop()
            with contextlib.suppress(Exception):
                await plane.stop()


def main(options: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench rollout")
    parser.add_argument("--nodes", default="10000", help="sizes, comma separated")
    parser.add_argument("--per-process", type=int, default=2500)
    parser.add_argument("--unavailable", default="10%", help="maxUnavailable (int or percent)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="PATH",
        help="cProfile the plane during the last size's rollout",
    )
    # tuned = what `ctrlplane serve` does (server.tune_gc_for_serving); default = CPython's.
    parser.add_argument("--plane-gc", choices=("default", "tuned"), default="tuned")
    # Options meant for other parts (scripts/bench passes them to every part) are ignored.
    args, _ = parser.parse_known_args(options)
    sizes = [int(n) for n in args.nodes.split(",") if n]
    tuned = args.plane_gc == "tuned"
    if tuned:
        tune_gc_for_serving()
    print(
        f"  plane GC: {args.plane_gc}; {args.per_process} agents per swarm process; "
        f"instant readiness",
        flush=True,
    )
    for i, nodes in enumerate(sizes):
        profile_to = args.profile if i == len(sizes) - 1 else None
        asyncio.run(run_size(nodes, args.per_process, args.unavailable, tuned, profile_to))
