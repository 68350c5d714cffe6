"""The plane side of the agent stream: Agent.Connect, the per-node hub, leases.

Each node's stream gets a snapshot of its assignments (the pods the folded
state puts on it) at a seq, then deltas: one hub task follows the state feed
and drops per-node deltas on each stream's bounded queue without awaiting
any agent; one writer task per stream sends them. A full queue is dropped
and replaced by a fresh snapshot (a slow agent never grows a backlog).
A reconnecting agent whose assignments did not change since the seq it
applied gets an empty delta instead of a snapshot; otherwise a fresh
snapshot (always correct, and simple). A stream's reader and writer run in
one task group: either failing ends the call, and the agent reconnects. When
the plane stops, `close_all` ends every stream (no NodeDisconnected).

What agents report becomes facts on node/<name>: statuses, static pods, and
connection transitions. They are queued and appended in batches by one
appender task (one append per loop tick, whatever the number of agents).
Leases live in memory: heartbeats never reach the log; only a lease running
out (NodeLost) or a node coming back (NodeConnected) does. This module
decides nothing about pods: the controller does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc

from ctrlplane._proto.v1 import agent_pb2, events_pb2, objects_pb2
from ctrlplane.api.agent_stream import Facts, Status, _Stream, hello_facts, taints_key
from ctrlplane.api.context import PlaneContext
from ctrlplane.controller.feed import Subscription
from ctrlplane.domain.pods import pod_object
from ctrlplane.domain.state import ClusterState, PodKey, PodState
from ctrlplane.domain.streams import namespace_or_default, node_stream
from ctrlplane.eventlog.base import EventLogError, NewEvent

log = logging.getLogger(__name__)

SERVICE_NAME = "ctrlplane.v1.Agent"
LEASE_HEARTBEATS = 3  # a lease lasts this many heartbeat intervals (unless configured)
BASE_CACHE_LIMIT = 1024  # revisions whose assignment shape is kept (see _assignment)
APPEND_RETRY_MIN = 0.05  # seconds before a failed append of agent facts is retried
APPEND_RETRY_MAX = 2.0


class AgentHub:
    """Every connected node's stream, the leases, and the batched appends."""

    def __init__(self, ctx: PlaneContext) -> None:
        self.ctx = ctx
        self.heartbeat = ctx.heartbeat_interval
        self.lease = ctx.lease_seconds or LEASE_HEARTBEATS * ctx.heartbeat_interval
        self.streams: dict[str, _Stream] = {}
        self.leases: dict[str, float] = {}  # node -> monotonic deadline
        # The connection fact last recorded per node ("connected", "lost",
        # "disconnected"), so a reconnect storm after a plane restart appends
        # nothing for nodes the log already says are connected.
        self._link: dict[str, str] = {}
        self._facts: dict[str, Facts] = {}
        self._last_status: dict[PodKey, Status] = {}
        self._rejections: dict[tuple[str, str], str] = {}  # (node, file) -> error reported
        self._bases: dict[tuple[object, str], objects_pb2.Pod] = {}  # see _assignment
        self._outbox: list[NewEvent] = []
        self._outbox_wake = asyncio.Event()
        self.closing = False  # the plane is stopping: no new streams (see close_all)

    @property
    def state(self) -> ClusterState:
        return self.ctx.feed.state

    # ---- the hub's tasks ------------------------------------------------------

    async def run(self) -> None:
        # Subscribe before the feed is ready: a batch folded between `ready`
        # and a later subscription would be missed by a stream that already
        # got its snapshot. (The initial fold publishes nothing.)
        async with self.ctx.feed.subscribe() as sub:
            await self.ctx.feed.ready.wait()
            now = self.ctx.clock.monotonic()
            for name, node in self.state.nodes.items():
                # Nodes the log says are connected get one lease to come back.
                if node.connected and not node.lost and name not in self.leases:
                    self.leases[name] = now + self.lease
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._fan_out(sub), name="agent-fan-out")
                tg.create_task(self._check_leases(), name="agent-leases")
                tg.create_task(self._append_loop(), name="agent-appends")

    async def _fan_out(self, sub: Subscription) -> None:
        async for batch in sub:
            self.publish(batch)

    def publish(self, batch: Sequence[tuple[events_pb2.Event, object]]) -> None:
        """Turn one folded batch into per-node deltas on the affected streams."""
        if not batch:
            return
        touched: dict[str, set[PodKey]] = {}
        for event, _ in batch:
            kind = event.WhichOneof("kind")
            if kind == "pod_scheduled":
                e = event.pod_scheduled
                touched.setdefault(e.node_name, set()).add(
                    (namespace_or_default(e.namespace), e.pod_name)
                )
            elif kind == "node_deleted":
                # Forget what we recorded: the node's next Hello registers it again.
                self._facts.pop(event.node_deleted.node_name, None)
                self._link.pop(event.node_deleted.node_name, None)
            elif kind == "pod_deleted":
                d = event.pod_deleted
                key = (namespace_or_default(d.namespace), d.pod_name)
                touched.setdefault(d.node_name, set()).add(key)
                self._last_status.pop(key, None)
        seq = batch[-1][0].seq
        state = self.state
        for node, keys in touched.items():
            stream = self.streams.get(node)
            if stream is None or stream.needs_snapshot or seq <= stream.sent_seq:
                continue
            message = self._message()
            delta = message.delta
            delta.seq = seq
            node_state = state.nodes.get(node)
            for key in sorted(keys):
                pod = state.pods.get(key)
                # The latest state, not the batch's: a lagging hub still sends
                # what is desired now, and the agent applies it idempotently.
                on_node = node_state is not None and key in node_state.pods
                if pod is not None and on_node and not pod.static and pod.node_name == node:
                    self._assignment(pod, delta.upserted.add())
                else:
                    delta.removed.add(namespace=key[0], name=key[1])
            stream.push(message)

    def _assignment(self, pod: PodState, out: objects_pb2.Pod) -> None:
        """The pod as its agent needs it (metadata and spec, no status), into `out`.

        Built from `pod_object` once per daemon set revision and patched per
        pod: at 10,000 nodes a full conversion per pod is most of a fan-out.
        """
        cache_key = (pod.owner, pod.revision_hash)
        base = self._bases.get(cache_key)
        if base is None:
            if len(self._bases) >= BASE_CACHE_LIMIT:
                self._bases.clear()
            base = pod_object(self.state, pod)
            base.ClearField("status")
            base.metadata.ClearField("name")
            base.metadata.ClearField("creation_timestamp")
            base.metadata.ClearField("resource_version")
            base.spec.ClearField("node_name")
            self._bases[cache_key] = base
        out.CopyFrom(base)
        out.metadata.name = pod.key[1]
        out.metadata.resource_version = str(pod.scheduled_seq)
        out.spec.node_name = pod.node_name

    async def _check_leases(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, min(1.0, self.lease / 4)))
            now = self.ctx.clock.monotonic()
            expired = [node for node, deadline in self.leases.items() if deadline <= now]
            for node in expired:
                del self.leases[node]
                if self._link_of(node) == "connected":
                    log.info("node %s lost: no heartbeat for %.1fs", node, self.lease)
                    self._link[node] = "lost"
                    at = self.ctx.clock.now()
                    lost = events_pb2.NodeLost(node_name=node, lease_expired_at=at)
                    self._queue(node, events_pb2.Event(node_lost=lost))

    async def _append_loop(self) -> None:
        """One append per tick for everything queued: statuses of many agents at once.

        A failed append (a full disk, a busy file) keeps its batch at the front
        of the outbox and is retried with back-off: the hub already counts
        those facts as reported (`_last_status`, `_link`), so dropping them
        would lose them for good, and raising would stop the plane.
        """
        delay = APPEND_RETRY_MIN
        while True:
            await self._outbox_wake.wait()
            self._outbox_wake.clear()
            events, self._outbox = self._outbox, []
            if not events:
                continue
            try:
                # Agent facts carry no expected versions (ANY_VERSION): no
                # ConcurrencyError; any EventLogError is the log failing.
                await self.ctx.store.append(events)
            except EventLogError as error:
                log.warning(
                    "appending %d agent facts failed (retry in %.2fs): %s",
                    len(events),
                    delay,
                    error,
                )
                self._outbox[:0] = events
                await asyncio.sleep(delay)
                delay = min(APPEND_RETRY_MAX, delay * 2)
                self._outbox_wake.set()
            else:
                delay = APPEND_RETRY_MIN

    def _queue(self, node: str, event: events_pb2.Event) -> None:
        self._outbox.append(
            NewEvent(
                stream=node_stream(node),
                payload=event,
                actor=f"agent:{node}",
                time=self.ctx.clock.now(),
            )
        )
        self._outbox_wake.set()

    # ---- one stream -----------------------------------------------------------

    def _message(self) -> agent_pb2.PlaneMessage:
        return agent_pb2.PlaneMessage(heartbeat_interval_seconds=self.heartbeat)

    def _link_of(self, node: str) -> str:
        if node not in self._link:
            ns = self.state.nodes.get(node)
            if ns is None:
                return "unknown"
            self._link[node] = (
                "lost" if ns.lost else "connected" if ns.connected else "disconnected"
            )
        return self._link[node]

    def _known_facts(self, node: str) -> Facts | None:
        known = self._facts.get(node)
        if known is None:
            ns = self.state.nodes.get(node)
            if ns is not None:
                known = (dict(ns.node.metadata.labels), taints_key(list(ns.node.spec.taints)))
                self._facts[node] = known
        return known

    def knows(self, node: str, facts: Facts) -> bool:
        """The node is known with exactly these labels and taints (already validated)."""
        return self._known_facts(node) == facts

    def open(self, hello: agent_pb2.Hello, facts: Facts | None = None) -> _Stream:
        """A Hello: record what changed about the node, then serve a new stream.

        A known node with unchanged labels and taints (every agent of a
        reconnect storm) queues nothing and costs a few dict look-ups.
        """
        node = hello.node_name
        old = self.streams.get(node)
        if old is not None:  # the agent came back before we noticed it left
            old.cancel()
        stream = _Stream(node)
        self.streams[node] = stream
        self._record_node(hello, hello_facts(hello) if facts is None else facts)
        self._renew(node)
        self._stale_mirrors(node, hello)
        ns = self.state.nodes.get(node)
        last = hello.last_applied_seq
        if ns is not None and 0 < last <= self.state.seq and ns.assignment_seq <= last:
            # Nothing changed for it since: an empty delta says "you are current".
            stream.needs_snapshot = False
            stream.sent_seq = self.state.seq
            marker = self._message()
            marker.delta.seq = self.state.seq
            stream.push(marker)
        return stream

    def _record_node(self, hello: agent_pb2.Hello, facts: Facts) -> None:
        node = hello.node_name
        labels, taints = facts
        known = self._known_facts(node)
        if known is None:
            obj = objects_pb2.Node(api_version="v1", kind="Node")
            obj.metadata.name = node
            obj.metadata.labels.update(labels)
            obj.spec.taints.extend(hello.taints)
            self._queue(node, events_pb2.Event(node_registered=events_pb2.NodeRegistered(node=obj)))
        else:
            if known[0] != labels:
                change = events_pb2.NodeLabelsChanged(node_name=node, labels=labels)
                self._queue(node, events_pb2.Event(node_labels_changed=change))
            if known[1] != taints:
                tchange = events_pb2.NodeTaintsChanged(node_name=node, taints=hello.taints)
                self._queue(node, events_pb2.Event(node_taints_changed=tchange))
        self._facts[node] = facts
        if self._link_of(node) != "connected":
            self._link[node] = "connected"
            self._queue(
                node, events_pb2.Event(node_connected=events_pb2.NodeConnected(node_name=node))
            )

    def _stale_mirrors(self, node: str, hello: agent_pb2.Hello) -> None:
        """Mirrors of static pods the agent no longer runs (file removed while away)."""
        ns = self.state.nodes.get(node)
        pods = self.state.pods
        static = sorted(
            k for k in (ns.pods if ns is not None else ()) if k in pods and pods[k].static
        )
        if not static:
            return  # the usual case: no set of running pods to build
        running = {(namespace_or_default(r.namespace), r.name) for r in hello.running}
        for key in static:
            if key not in running:
                removed = events_pb2.StaticPodRemoved(
                    node_name=node, namespace=key[0], pod_name=key[1]
                )
                self._queue(node, events_pb2.Event(static_pod_removed=removed))

    def _renew(self, node: str) -> None:
        self.leases[node] = self.ctx.clock.monotonic() + self.lease
        if self._link.get(node) == "lost":  # a lost node speaks again: it is back
            self._link[node] = "connected"
            self._queue(
                node, events_pb2.Event(node_connected=events_pb2.NodeConnected(node_name=node))
            )

    def receive(self, stream: _Stream, msg: agent_pb2.AgentMessage) -> None:
        node = stream.node
        self._renew(node)
        kind = msg.WhichOneof("msg")
        if kind == "pod_status":
            self._status(stream, msg.pod_status)
        elif kind == "static_pod":
            self._static(stream, msg.static_pod)

    def _status(self, stream: _Stream, s: agent_pb2.PodStatusUpdate) -> None:
        key = (namespace_or_default(s.namespace), s.pod_name)
        pod = self.state.pods.get(key)
        if pod is None or pod.node_name != stream.node or pod.static:
            return  # gone already, or not this node's to report
        status: Status = (s.phase, s.ready, s.restart_count, s.message or s.reason)
        last = self._last_status.get(key)
        if last is None:
            last = (pod.phase, pod.ready, pod.restart_count, pod.message)
        if status == last:
            return  # a re-report after reconnecting: the log already says so
        self._last_status[key] = status
        report = events_pb2.PodStatusReported(
            namespace=key[0],
            pod_name=key[1],
            node_name=stream.node,
            phase=s.phase,
            ready=s.ready,
            restart_count=s.restart_count,
            message=s.message,
            reason=s.reason,
        )
        self._queue(stream.node, events_pb2.Event(pod_status_reported=report))

    def _static(self, stream: _Stream, update: agent_pb2.StaticPodUpdate) -> None:
        node = stream.node
        change = update.WhichOneof("change")
        if change == "reported":
            mirror = objects_pb2.Pod()
            mirror.CopyFrom(update.reported)
            mirror.spec.node_name = node
            key = (namespace_or_default(mirror.metadata.namespace), mirror.metadata.name)
            stream.mirrors.add(key)
            existing = self.state.pods.get(key)
            if existing is not None and existing.static and existing.mirror == mirror:
                return
            reported = events_pb2.StaticPodReported(node_name=node, pod=mirror, file=update.file)
            self._queue(node, events_pb2.Event(static_pod_reported=reported))
        elif change == "removed":
            key = (namespace_or_default(update.removed.namespace), update.removed.name)
            stream.mirrors.discard(key)
            removed = events_pb2.StaticPodRemoved(node_name=node, namespace=key[0], pod_name=key[1])
            self._queue(node, events_pb2.Event(static_pod_removed=removed))
        elif change == "rejected":
            if self._rejections.get((node, update.file)) == update.rejected.error:
                return
            self._rejections[(node, update.file)] = update.rejected.error
            rejected = events_pb2.StaticPodManifestRejected(
                node_name=node, file=update.file, error=update.rejected.error
            )
            self._queue(node, events_pb2.Event(static_pod_manifest_rejected=rejected))

    def close(self, stream: _Stream, *, clean: bool) -> None:
        """The stream ended: a clean goodbye is NodeDisconnected; else the lease decides."""
        stream.closed = True
        if self.streams.get(stream.node) is not stream:
            return  # replaced by a newer stream of the same node
        del self.streams[stream.node]
        if clean and self._link_of(stream.node) == "connected":
            self.leases.pop(stream.node, None)
            self._link[stream.node] = "disconnected"
            gone = events_pb2.NodeDisconnected(node_name=stream.node)
            self._queue(stream.node, events_pb2.Event(node_disconnected=gone))

    def close_all(self) -> None:
        """The plane stops: end every stream (agents reconnect with back-off).

        The calls end normally instead of holding the plane's stop for its
        whole grace period. No NodeDisconnected: the agents did not leave,
        and the log keeps saying they are connected (a restarted plane gives
        them one lease to come back).
        """
        self.closing = True
        for stream in list(self.streams.values()):
            stream.end()

    def snapshot(self, node: str) -> agent_pb2.PlaneMessage:
        state = self.state
        message = self._message()
        snap = message.snapshot
        snap.seq = state.seq
        ns = state.nodes.get(node)
        for key in sorted(ns.pods if ns is not None else ()):
            pod = state.pods.get(key)
            if pod is not None and not pod.static:
                self._assignment(pod, snap.pods.add())
        return message

    async def write(self, stream: _Stream, context: grpc.aio.ServicerContext) -> None:
        """The stream's one writer: a snapshot when needed, else queued deltas in order."""
        while not stream.closed:
            await stream.wake.wait()
            stream.wake.clear()
            while not stream.closed:
                if stream.needs_snapshot:
                    stream.needs_snapshot = False
                    stream.queue.clear()
                    message = self.snapshot(stream.node)
                    stream.sent_seq = message.snapshot.seq
                    await context.write(message)
                elif stream.queue:
                    message = stream.queue.popleft()
                    if message.delta.seq < stream.sent_seq:
                        continue  # already covered by a snapshot
                    stream.sent_seq = message.delta.seq
                    await context.write(message)
                else:
                    break
