"""The node agent: hold a stream to the plane, run the assigned pods, report back.

One `Agent` per node. It connects with a Hello, applies the plane's snapshot
and deltas as desired state through `plan()` (so a repeated delta changes
nothing), reports every pod status change, heartbeats, and reconnects with
exponential back-off and full jitter when the stream breaks. Static pods from
a manifest directory run even when the plane is unreachable. Until the first
snapshot after start, pods adopted from a previous run are left alone. It
never sees the log or the controller: only its own assignments.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from dataclasses import dataclass, field

import grpc

from agents.plan import plan
from agents.runtime import PodKey, PodReport, Runtime, pod_key, revision_of
from agents.static_pods import StaticPods
from ctrlplane._proto.v1 import agent_pb2, agent_pb2_grpc, objects_pb2
from ctrlplane.domain.streams import namespace_or_default

log = logging.getLogger(__name__)

AGENT_VERSION = "ctrlplane-agent/0.1"

# gRPC's own channel reconnect back-off (1 s growing by 1.6x to 120 s) would
# sit on top of ours: after a long plane restart a channel could wait minutes
# before it even tries. Keep it short; the agent's jittered back-off spreads
# the herd. Measured (scripts/bench agents): with a 2 s maximum the first
# agent came back 2.0 s after the plane listened again, with 0.5 s after
# 0.5-0.75 s. The price is a refused TCP connect twice a second per agent
# while the plane is down (cheap for the plane's host: one RST each).
RECONNECT_OPTIONS: list[tuple[str, int]] = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 500),
]
DEFAULT_HEARTBEAT = 5.0
GOODBYE_TIMEOUT = 2.0  # seconds a stopping agent waits for the plane to end its stream


@dataclass(slots=True)
class AgentConfig:
    node_name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[objects_pb2.Taint] = field(default_factory=list)
    # Reconnect back-off: sleep uniform(0, min(cap, base * 2**attempt)) ("full jitter").
    backoff_base: float = 0.2
    backoff_cap: float = 5.0
    stop_pods_on_exit: bool = False
    token: str = ""  # bearer token, when the plane requires one (role agent, user = node)
    # Queue the Connect call until the channel is up instead of failing it
    # at once: an agent waiting out a plane restart then costs no CPU per
    # attempt, and comes back as soon as its channel does (see swarm.py).
    wait_for_ready: bool = False


def spec_hash(pod: objects_pb2.Pod) -> str:
    """The pod's revision: the plane's annotation, else a hash of its spec."""
    return (
        revision_of(pod)
        or hashlib.sha256(pod.spec.SerializeToString(deterministic=True)).hexdigest()[:10]
    )


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        runtime: Runtime,
        channel: grpc.aio.Channel,
        *,
        rng: random.Random | None = None,
        static: StaticPods | None = None,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.stub = agent_pb2_grpc.AgentStub(channel)  # type: ignore[no-untyped-call]
        self.rng = rng if rng is not None else random.Random()
        self.static = static
        self.assigned: dict[PodKey, objects_pb2.Pod] = {}
        self.applied_seq = 0
        self.synced = False  # a snapshot arrived since this agent started
        self.connected = asyncio.Event()
        self.sessions = 0  # streams that got their snapshot (for tests and the swarm)
        self.heartbeat_interval = DEFAULT_HEARTBEAT
        self._stopping = asyncio.Event()
        self._apply_wanted = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._pending: dict[PodKey, PodReport] = {}
        self._static_pending: list[agent_pb2.StaticPodUpdate] = []
        runtime.set_listener(self._on_status)
        if static is not None:
            static.on_change = self.static_changed

    # ---- lifetime -------------------------------------------------------------

    async def run(self) -> None:
        """Run until `stop()`; then close the stream cleanly and release the runtime."""
        if self.static is not None:
            # Static pods run before (and without) the plane, and the first
            # Hello already lists them, so the plane keeps their mirrors.
            self.static.directory.mkdir(parents=True, exist_ok=True)
            self.static.scan()
            await self.apply_once()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._apply_loop())
                if self.static is not None:
                    tg.create_task(self.static.watch())
                connector = tg.create_task(self._connect_loop())
                await self._stopping.wait()
                # The writer says goodbye and the plane ends the stream; give it
                # a moment, then cancel whatever is left.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(connector), GOODBYE_TIMEOUT)
                raise _Stop
        except* _Stop:
            pass
        finally:
            await self.runtime.close(stop_pods=self.config.stop_pods_on_exit)

    def stop(self) -> None:
        self._stopping.set()
        self._outbox_wake.set()

    def static_changed(self) -> None:
        """The static pod set or its reports changed: re-plan and tell the plane."""
        self._take_static_updates()
        self._apply_wanted.set()

    # ---- connection -------------------------------------------------------------

    async def _connect_loop(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            synced_before = self.sessions
            try:
                await self._session()
            except* grpc.aio.AioRpcError as group:
                first = group.exceptions[0]
                code = first.code().name if isinstance(first, grpc.aio.AioRpcError) else first
                log.info("%s: stream ended: %s", self.config.node_name, code)
            except* Exception:  # an agent outlives any one stream's failure
                log.exception("%s: stream failed", self.config.node_name)
            self.connected.clear()
            if self.sessions > synced_before:
                attempt = 0  # the stream worked: start the back-off over
            limit = min(self.config.backoff_cap, self.config.backoff_base * 2**attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.rng.uniform(0, limit))

    async def _session(self) -> None:
        metadata = (
            (("authorization", f"Bearer {self.config.token}"),) if self.config.token else None
        )
        call = self.stub.Connect(metadata=metadata, wait_for_ready=self.config.wait_for_ready)
        try:
            await call.write(agent_pb2.AgentMessage(hello=self._hello()))
            if not await self._read_one(call):
                return
            self.sessions += 1
            self._queue_full_report()
            self.connected.set()
            # Reader and writer together: a writer that fails ends the session
            # at once (and the agent reconnects), not when the reader next wakes.
            async with asyncio.TaskGroup() as tg:
                writer = tg.create_task(self._write_until_done(call))
                while await self._read_one(call):
                    pass
                writer.cancel()  # the plane ended the stream: nothing more to say
        finally:
            call.cancel()

    async def _read_one(self, call: grpc.aio.StreamStreamCall) -> bool:
        """Read and apply one plane message; False at the end of the stream."""
        msg = await call.read()
        if msg is grpc.aio.EOF:
            return False
        assert isinstance(msg, agent_pb2.PlaneMessage)
        if msg.heartbeat_interval_seconds > 0:
            self.heartbeat_interval = msg.heartbeat_interval_seconds
        self._receive(msg)
        return True

    async def _write_until_done(self, call: grpc.aio.StreamStreamCall) -> None:
        # The plane may end the call (status OK) while a write is on its way:
        # grpc then raises InvalidStateError, and the reader sees the end.
        with contextlib.suppress(asyncio.InvalidStateError):
            await self._write_loop(call)

    def _hello(self) -> agent_pb2.Hello:
        hello = agent_pb2.Hello(
            node_name=self.config.node_name,
            labels=self.config.labels,
            taints=self.config.taints,
            last_applied_seq=self.applied_seq if self.synced else 0,
            agent_version=AGENT_VERSION,
        )
        for (ns, name), rev in sorted(self.runtime.running().items()):
            hello.running.add(namespace=ns, name=name, revision_hash=rev)
        return hello

    def _receive(self, msg: agent_pb2.PlaneMessage) -> None:
        kind = msg.WhichOneof("msg")
        if kind == "snapshot":
            self.assigned = {pod_key(p): p for p in msg.snapshot.pods}
            self.applied_seq = msg.snapshot.seq
            self.synced = True
        elif kind == "delta":
            for pod in msg.delta.upserted:
                self.assigned[pod_key(pod)] = pod
            for ref in msg.delta.removed:
                self.assigned.pop((namespace_or_default(ref.namespace), ref.name), None)
            self.applied_seq = max(self.applied_seq, msg.delta.seq)
            self.synced = True
        else:
            return
        self._apply_wanted.set()

    def _queue_full_report(self) -> None:
        # A new stream: the plane may have missed anything; it drops repeats.
        static = self.static.pods if self.static is not None else {}
        for key in self.runtime.running():
            report = self.runtime.status(key)
            if report is not None and key not in static:
                self._pending[key] = report
        if self.static is not None:
            self._static_pending = self.static.updates_for_plane(full=True)
        self._outbox_wake.set()

    async def _write_loop(self, call: grpc.aio.StreamStreamCall) -> None:
        """The stream's one writer: statuses, static pod reports, heartbeats."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.heartbeat_interval
        while True:
            timeout = max(0.0, next_beat - loop.time())
            # asyncio.timeout, not wait_for: no task per wait (10,000 agents share a loop).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._outbox_wake.wait()
            self._outbox_wake.clear()
            if self._stopping.is_set():
                # A clean goodbye: half-close, and the plane ends the stream and
                # records NodeDisconnected (a cancelled call would look like a
                # dead node: NodeLost once the lease runs out).
                await call.write(agent_pb2.AgentMessage(goodbye=agent_pb2.Goodbye()))
                await call.done_writing()
                return
            sent = False
            if self._static_pending:
                updates, self._static_pending = self._static_pending, []
                for update in updates:
                    await call.write(agent_pb2.AgentMessage(static_pod=update))
                sent = True
            if self._pending:
                pending, self._pending = self._pending, {}
                for (ns, name), r in pending.items():
                    status = agent_pb2.PodStatusUpdate(
                        namespace=ns,
                        pod_name=name,
                        phase=r.phase,
                        ready=r.ready,
                        restart_count=r.restart_count,
                        message=r.message,
                        reason=r.reason,
                    )
                    await call.write(agent_pb2.AgentMessage(pod_status=status))
                sent = True
            if sent or loop.time() >= next_beat:
                if not sent:
                    beat = agent_pb2.Heartbeat(applied_seq=self.applied_seq)
                    await call.write(agent_pb2.AgentMessage(heartbeat=beat))
                # Any message renews the lease: the heartbeat is only for silence.
                next_beat = loop.time() + self.heartbeat_interval

    # ---- applying desired state -------------------------------------------------

    def _on_status(self, key: PodKey, report: PodReport) -> None:
        if self.static is not None and self.static.set_status(key, report):
            self._take_static_updates()  # a static pod's status travels in its mirror
        else:
            self._pending[key] = report
        self._outbox_wake.set()

    def _take_static_updates(self) -> None:
        if self.static is None:
            return
        updates = self.static.updates_for_plane(full=False)
        # Offline, they are dropped: a new stream starts with a full report.
        if self.connected.is_set():
            self._static_pending.extend(updates)
            self._outbox_wake.set()

    def desired(self) -> dict[PodKey, objects_pb2.Pod]:
        pods = dict(self.assigned)
        if self.static is not None:
            pods.update(self.static.pods)
        return pods

    async def _apply_loop(self) -> None:
        """The only task that starts and stops pods, so two starts never race."""
        while True:
            await self._apply_wanted.wait()
            self._apply_wanted.clear()
            await self.apply_once()

    async def apply_once(self) -> None:
        desired = self.desired()
        wanted = {key: spec_hash(pod) for key, pod in desired.items()}
        running = self.runtime.running()
        for action in plan(wanted, running):
            static = self.static is not None and action.key in self.static.ever
            if action.verb == "stop" and not self.synced and not static:
                continue  # adopted before any snapshot: keep it until the plane says
            try:
                if action.verb in ("stop", "replace"):
                    await self.runtime.stop(action.key)
                if action.verb in ("start", "replace"):
                    await self.runtime.start(desired[action.key], wanted[action.key])
            except Exception as exc:  # one pod's failure never stops the agent
                log.error(
                    "%s: %s %s/%s failed: %s", self.config.node_name, action.verb, *action.key, exc
                )


class _Stop(Exception):
    """Raised inside the agent's task group to end it (cancels its tasks)."""
