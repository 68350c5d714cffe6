"""Agents benchmark: N simulated agents in separate processes over real gRPC.

`python -m ctrlplane.bench agents --nodes=1000,10000` (default 1000,5000,10000;
`--per-process=2500` agents per swarm process). For each N, in one run:

- floor: raw gRPC fan-out of one assignment-sized message to N bare streams
  with N acks (same processes, same channels), plus one batched SQLite append
  of 2N events (a PodScheduled and a PodStatusReported per node);
- converge: apply one DaemonSet; time until every pod's Running+Ready status
  is in the log (folded by the plane), reported beside the floor as a ratio;
- plane RSS with N connected nodes (the plane runs in this process);
- storm: restart the plane on the same port and log; time until every agent
  has a new session (snapshot received) and none was lost; beside the storm
  floor (the bare server of the fan-out floor restarted under the same bare
  clients, until every one is back and has acked a greeting), and with the
  CPU the plane (after its fold) and the swarm processes spent on it.

`--profile=PATH` writes cProfiles of the plane during each storm to PATH.N
and during each convergence to PATH.converge.N;
`--backoff-cap` and `--no-wait-for-ready` set how the agents reconnect.

`--plane-gc=tuned` (the default) sets the collector as `ctrlplane serve` does
(server.tune_gc_for_serving) and freezes the objects of the initial fold;
`--plane-gc=default` keeps CPython's thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc

from ctrlplane._proto.v1 import (
    agent_pb2,
    agent_pb2_grpc,
    api_pb2,
    api_pb2_grpc,
    events_pb2,
    objects_pb2,
)
from ctrlplane.domain.state import ClusterState
from ctrlplane.eventlog import NewEvent, SqliteEventStore
from ctrlplane.server import SERVER_OPTIONS, Plane, PlaneConfig, tune_gc_for_serving

PY = sys.executable
TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "fluentd"}},
    "spec": {
        "containers": [
            {
                "name": "fluentd",
                "image": "fluent/fluentd:v1.16",
                "command": ["fluentd", "-c", "/etc/fluent/fluent.conf"],
                "env": [{"name": "FLUENT_UID", "value": "0"}],
                "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}],
            }
        ],
        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
    },
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def daemon_set() -> objects_pb2.DaemonSet:
    from google.protobuf import json_format

    body = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "fluentd", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "fluentd"}}, "template": TEMPLATE},
    }
    return json_format.ParseDict(body, objects_pb2.DaemonSet())


# ---- swarm processes -----------------------------------------------------------


class Swarms:
    """`python -m agents.swarm` processes, N agents split across them."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs
        self.sessions = [0] * len(procs)
        self.connected = [False] * len(procs)
        self.readers = [asyncio.create_task(self._read(i, p)) for i, p in enumerate(procs)]
        self.changed = asyncio.Event()

    @classmethod
    async def start(cls, server: str, nodes: int, per: int, *extra: str) -> Swarms:
        procs = []
        for start in range(0, nodes, per):
            count = min(per, nodes - start)
            procs.append(
                await asyncio.create_subprocess_exec(
                    PY,
                    "-m",
                    "agents.swarm",
                    "--server",
                    server,
                    "--nodes",
                    str(count),
                    "--start",
                    str(start),
                    *extra,
                    stdout=subprocess.PIPE,
                    # gRPC core logs every GOAWAY of a restarted server at INFO.
                    env={**os.environ, "GRPC_VERBOSITY": "ERROR"},
                )
            )
        return cls(procs)

    async def _read(self, i: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := (await proc.stdout.readline()).decode():
            word, _, number = line.partition(" ")
            if word in ("connected", "started"):
                self.connected[i] = True
            elif word == "sessions":
                self.sessions[i] = int(number)
            self.changed.set()

    async def wait(self, predicate: Callable[[], bool], limit: float) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def cpu_seconds(self) -> float:
        """CPU (user + system) the swarm processes used so far, from /proc."""
        total = 0
        for proc in self.procs:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for reader in self.readers:
            reader.cancel()


# ---- the floor -------------------------------------------------------------------


class _RawFanOut(agent_pb2_grpc.AgentServicer):
    """Bare streams: one writer per stream, acks counted; nothing else.

    With `greeting`, each stream is sent it as soon as its Hello arrives
    (the storm's floor: what a reconnect costs with no plane behind it).
    """

    def __init__(self, nodes: int, greeting: agent_pb2.PlaneMessage | None = None) -> None:
        self.nodes = nodes
        self.greeting = greeting
        self.queues: list[asyncio.Queue[agent_pb2.PlaneMessage]] = []
        self.acks = 0
        self.all_connected = asyncio.Event()
        self.all_acked = asyncio.Event()

    async def Connect(
        self, request_iterator: AsyncIterator[agent_pb2.AgentMessage], context: object
    ) -> None:
        queue: asyncio.Queue[agent_pb2.PlaneMessage] = asyncio.Queue()
        if self.greeting is not None:
            queue.put_nowait(self.greeting)
        self.queues.append(queue)
        if len(self.queues) == self.nodes:
            self.all_connected.set()

        async def writer() -> None:
            while True:
                await context.write(await queue.get())  # type: ignore[attr-defined]

        task = asyncio.create_task(writer())
        try:
            async for msg in request_iterator:
                if msg.HasField("pod_status"):
                    self.acks += 1
                    if self.acks == self.nodes:
                        self.all_acked.set()
        finally:
            task.cancel()


async def _raw_server(
    servicer: _RawFanOut, listen: str = "127.0.0.1:0"
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(options=list(SERVER_OPTIONS))
    agent_pb2_grpc.add_AgentServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port(listen)
    await server.start()
    return server, port


async def floor_fan_out(
    nodes: int, per: int, message: agent_pb2.PlaneMessage
) -> tuple[float, float, float]:
    """Raw fan-out + acks to N bare streams; then the raw reconnect storm.

    Returns (fan-out seconds, storm seconds, server CPU seconds of the storm).
    The storm: the bare server is stopped and started again on its port; time
    until every bare client has reconnected, got a greeting and acked it.
    """
    servicer = _RawFanOut(nodes)
    server, port = await _raw_server(servicer)
    swarms = await Swarms.start(f"127.0.0.1:{port}", nodes, per, "--raw")
    try:
        await asyncio.wait_for(servicer.all_connected.wait(), 120)
        t0 = time.perf_counter()
        for queue in servicer.queues:
            queue.put_nowait(message)
        await asyncio.wait_for(servicer.all_acked.wait(), 120)
        fan_out = time.perf_counter() - t0
        await server.stop(0)
        greeting = agent_pb2.PlaneMessage(heartbeat_interval_seconds=5.0)
        greeting.delta.seq = 1
        servicer = _RawFanOut(nodes, greeting)
        cpu0, t0 = time.process_time(), time.perf_counter()
        server, _ = await _raw_server(servicer, f"127.0.0.1:{port}")
        await asyncio.wait_for(servicer.all_acked.wait(), 120)
        return fan_out, time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await swarms.stop()
        await server.stop(0)


async def floor_append(nodes: int, directory: Path) -> float:
    store = await SqliteEventStore.open(directory / "floor.db")
    try:
        events = []
        for i in range(nodes):
            node = f"swarm-{i}"
            scheduled = events_pb2.PodScheduled(
                namespace="default", daemon_set="fluentd", pod_name=f"fluentd-{i}",
                node_name=node, revision_hash="abcdef1234", revision=1, reason="NodeEligible",
            )  # fmt: skip
            status = events_pb2.PodStatusReported(
                namespace="default", pod_name=f"fluentd-{i}", node_name=node,
                phase="Running", ready=True,
            )  # fmt: skip
            events.append(
                NewEvent(
                    "daemonset/default/fluentd",
                    events_pb2.Event(pod_scheduled=scheduled),
                    "controller",
                    0.0,
                )
            )
            events.append(
                NewEvent(
                    f"node/{node}",
                    events_pb2.Event(pod_status_reported=status),
                    f"agent:{node}",
                    0.0,
                )
            )
        t0 = time.perf_counter()
        await store.append(events)
        return time.perf_counter() - t0
    finally:
        await store.close()


def sample_message() -> agent_pb2.PlaneMessage:
    from google.protobuf import json_format

    pod = objects_pb2.Pod(api_version="v1", kind="Pod")
    json_format.ParseDict(TEMPLATE["spec"], pod.spec)
    pod.metadata.name, pod.metadata.namespace = "fluentd-abcde", "default"
    pod.metadata.labels["app"] = "fluentd"
    pod.metadata.annotations["ctrlplane.io/revision-hash"] = "abcdef1234"
    msg = agent_pb2.PlaneMessage(heartbeat_interval_seconds=5.0)
    msg.delta.seq = 1
    msg.delta.upserted.append(pod)
    return msg


# ---- the real thing --------------------------------------------------------------


async def start_plane(config: PlaneConfig, tuned_gc: bool) -> Plane:
    """Start a plane; with `tuned_gc`, freeze what its initial fold built (GC skips it)."""
    plane = Plane(config)
    await plane.start()
    if tuned_gc:
        gc.freeze()
    return plane


def plane_config(db: Path, listen: str) -> PlaneConfig:
    # A long lease: a storm on a loaded 2-core box must not look like lost nodes.
    return PlaneConfig(db_path=db, listen=listen, lease_seconds=60.0, heartbeat_interval=10.0)


def all_connected(state: ClusterState, nodes: int) -> bool:
    """All `nodes` agents registered in the plane's state, every one connected."""
    return len(state.nodes) == nodes and all(n.connected for n in state.nodes.values())


def ready_everywhere(state: ClusterState, key: tuple[str, str], nodes: int) -> bool:
    """The DaemonSet `key` exists and has a ready pod on each of `nodes` nodes."""
    ds = state.daemon_sets.get(key)
    return ds is not None and ds.ready_count == nodes


async def run_size(
    nodes: int, per: int, tuned_gc: bool, swarm_args: list[str], profile: str | None
) -> None:
    with tempfile.TemporaryDirectory(prefix="ctrlplane-bench-") as tmp:
        directory = Path(tmp)
        fan_out, storm_floor, storm_floor_cpu = await floor_fan_out(nodes, per, sample_message())
        append = await floor_append(nodes, directory)
        floor = fan_out + append
        print(
            f"  N={nodes:>6}  floor {floor:7.3f} s "
            f"(raw fan-out+acks {fan_out:.3f} s, "
            f"SQLite append of {2 * nodes} events {append:.3f} s)",
            flush=True,
        )
        print(
            f"  N={nodes:>6}  storm floor {storm_floor:7.3f} s (bare server restarted, every bare "
            f"stream back and acked; server CPU {1000 * storm_floor_cpu / nodes:.2f} ms "
            f"per reconnect)",
            flush=True,
        )

        db = directory / "events.db"
        rss_before = rss_mb()
        plane = await start_plane(plane_config(db, "127.0.0.1:0"), tuned_gc)
        swarms = await Swarms.start(plane.address, nodes, per, *swarm_args)
        try:
            state = plane.feed.state
            t0 = time.perf_counter()
            await swarms.wait(lambda: all(swarms.connected), 300)
            await plane.feed.wait_for(lambda: all_connected(state, nodes), 300)
            took = time.perf_counter() - t0
            print(f"  N={nodes:>6}  {nodes} agents connected and registered in {took:.1f} s")

            key = ("default", "fluentd")
            async with grpc.aio.insecure_channel(plane.address) as channel:
                stub = api_pb2_grpc.DaemonSetsStub(channel)  # type: ignore[no-untyped-call]
                profiler = cProfile.Profile() if profile else None
                if profiler is not None:
                    profiler.enable()
                t0 = time.perf_counter()
                await stub.Apply(api_pb2.ApplyRequest(daemon_set=daemon_set()))
                await plane.feed.wait_for(lambda: ready_everywhere(state, key, nodes), 300)
                converge = time.perf_counter() - t0
                if profiler is not None and profile:
                    profiler.disable()
                    profiler.dump_stats(f"{profile}.converge.{nodes}")
            print(
                f"  N={nodes:>6}  converge {converge:7.3f} s = {converge / floor:5.2f} x floor"
                f"   (target <= 3 s and <= 3x)",
                flush=True,
            )
            rss = rss_mb()
            print(
                f"  N={nodes:>6}  plane RSS {rss:6.0f} MB with {nodes} connected nodes "
                f"({rss - rss_before:+.0f} MB over the process before the plane; target <= 600 MB)",
                flush=True,
            )
            head = await plane.store.head()
            port = plane.port
            await plane.stop()

            sessions_before = sum(swarms.sessions)
            swarm_cpu0, plane_cpu0 = swarms.cpu_seconds(), time.process_time()
            t0 = time.perf_counter()
            plane = await start_plane(plane_config(db, f"127.0.0.1:{port}"), tuned_gc)
            fold = time.perf_counter() - t0
            fold_cpu = time.process_time() - plane_cpu0
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()  # the storm only: the fold is measured above
            marks = []
            for share in (0.5, 0.9, 1.0):
                want = sessions_before + math.ceil(nodes * share)
                await swarms.wait(lambda want=want: sum(swarms.sessions) >= want, 300)  # type: ignore[misc]
                marks.append(time.perf_counter() - t0)
            if profiler is not None and profile:
                profiler.disable()
                profiler.dump_stats(f"{profile}.{nodes}")
                print(f"  N={nodes:>6}  storm profile (plane, after its fold): {profile}.{nodes}")
            storm = marks[-1]
            plane_cpu = time.process_time() - plane_cpu0 - fold_cpu
            swarm_cpu = swarms.cpu_seconds() - swarm_cpu0
            lost = [e for e in await plane.store.read(head) if e.WhichOneof("kind") == "node_lost"]
            print(
                f"  N={nodes:>6}  storm {storm:7.3f} s until every agent is back in sync "
                f"(log folded in {fold:.3f} s; half back at {marks[0]:.1f} s, 90 % at "
                f"{marks[1]:.1f} s), {len(lost)} lost = {storm / storm_floor:.2f} x storm floor"
                f"   (target <= 10 s, none lost)",
                flush=True,
            )
            print(
                f"  N={nodes:>6}  storm CPU: plane {plane_cpu:.2f} s after its fold "
                f"({1000 * plane_cpu / nodes:.2f} ms per reconnecting agent), "
                f"swarm processes {swarm_cpu:.2f} s ({1000 * swarm_cpu / nodes:.2f} ms per agent)",
                flush=True,
            )
        finally:
            await swarms.stop()
            with contextlib.suppress(Exception):
                await plane.stop()


def main(options: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench agents")
    parser.add_argument("--nodes", default="1000,5000,10000")
    parser.add_argument("--per-process", type=int, default=2500)
    parser.add_argument(
        "--plane-gc",
        choices=("default", "tuned"),
        default="tuned",
        help="tuned (as `ctrlplane serve`): raise the GC threshold, gc.freeze() after each "
        "initial fold; default: CPython's",
    )
    parser.add_argument(
        "--backoff-cap",
        default="5",
        help="the agents' reconnect back-off cap in seconds (full jitter below it)",
    )
    parser.add_argument(
        "--no-wait-for-ready",
        action="store_true",
        help="agents fail Connect at once while their channel is down (and back off)",
    )
    parser.add_argument(
        "--profile", metavar="PATH", help="cProfile the plane during each storm into PATH.N"
    )
    args = parser.parse_args(options)
    sizes = [int(n) for n in args.nodes.split(",") if n]
    tuned = args.plane_gc == "tuned"
    if tuned:
        tune_gc_for_serving()
    print(f"  plane GC: {args.plane_gc}; {args.per_process} agents per swarm process", flush=True)
    for nodes in sizes:
        swarm_args = ["--backoff-cap", args.backoff_cap]
        swarm_args += ["--no-wait-for-ready"] if args.no_wait_for_ready else []
        asyncio.run(run_size(nodes, args.per_process, tuned, swarm_args, args.profile))
