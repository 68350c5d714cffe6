"""DaemonSets service: apply, read, delete, history, undo, plan, rollout status, pause, restart.

Writes turn a request into one fact on the daemon set's stream, guarded by
the stream version the decision was made from, and answer from the folded
state once the fact is folded. Reads answer from the folded state, with the
status computed at the clock's now. An apply that changes nothing appends
nothing; the generation rises only when the spec changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2, objects_pb2
from ctrlplane.api.context import PlaneContext, add_servicer
from ctrlplane.api.errors import rpc
from ctrlplane.api.plan import node_changes, spec_diff
from ctrlplane.api.rollout_status import rollout_status
from ctrlplane.domain import fielderrors, validation
from ctrlplane.domain.errors import Conflict, FailedPrecondition, NotFound
from ctrlplane.domain.labels import parse_selector
from ctrlplane.domain.manifests import prepare_daemon_set
from ctrlplane.domain.pods import rfc3339
from ctrlplane.domain.revisions import (
    CHANGE_CAUSE_ANNOTATION,
    history,
    is_current,
    rollback_target,
    rolled_back_daemon_set,
    template_hash,
)
from ctrlplane.domain.state import DaemonSetState, DsKey
from ctrlplane.domain.status import compute_status
from ctrlplane.domain.streams import DEFAULT_NAMESPACE, daemon_set_stream, namespace_or_default
from ctrlplane.eventlog.base import NO_STREAM, NewEvent

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
# Rollout status without events still changes with time (minReadySeconds).
WATCH_TICK = 1.0
# Folded batches a rollout watch may hold while its client is slow to read;
# past it they are dropped and the status is simply computed again.
WATCH_BACKLOG = 64


def _key(ref: api_pb2.ObjectRef) -> DsKey:
    return (namespace_or_default(ref.namespace), ref.name)


def _comparable(obj: objects_pb2.DaemonSet) -> objects_pb2.DaemonSet:
    """What an apply may change: labels, annotations and spec (server fields dropped)."""
    out = objects_pb2.DaemonSet()
    out.metadata.labels.update(obj.metadata.labels)
    out.metadata.annotations.update(obj.metadata.annotations)
    out.spec.CopyFrom(obj.spec)
    out.spec.template_generation = 0
    return out


class DaemonSetsServicer(api_pb2_grpc.DaemonSetsServicer):
    def __init__(self, ctx: PlaneContext) -> None:
        self.ctx = ctx

    # ---- reading ----------------------------------------------------------

    def _live(self, key: DsKey) -> DaemonSetState:
        ds = self.ctx.feed.state.daemon_sets.get(key)
        if ds is None or ds.deleted:
            shown = key[1] if key[0] == DEFAULT_NAMESPACE else f"{key[0]}/{key[1]}"
            raise NotFound("daemonset", shown)
        return ds

    def _object(self, ds: DaemonSetState) -> objects_pb2.DaemonSet:
        """The daemon set as clients see it: server fields and status filled in."""
        obj = objects_pb2.DaemonSet()
        obj.CopyFrom(ds.obj)
        obj.api_version = obj.api_version or "apps/v1"
        obj.kind = obj.kind or "DaemonSet"
        obj.metadata.creation_timestamp = rfc3339(ds.created_at)
        obj.metadata.resource_version = str(ds.version)
        obj.status.CopyFrom(compute_status(self.ctx.feed.state, ds, self.ctx.clock.now()))
        return obj

    @rpc
    async def Get(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> objects_pb2.DaemonSet:
        return self._object(self._live(_key(request)))

    @rpc
    async def List(
        self, request: api_pb2.ListDaemonSetsRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.DaemonSetList:
        selector = parse_selector(request.label_selector, "label_selector")
        state = self.ctx.feed.state
        items = [
            self._object(ds)
            for key, ds in sorted(state.daemon_sets.items())
            if not ds.deleted
            and (not request.namespace or key[0] == request.namespace)
            and selector.matches(ds.obj.metadata.labels)
        ]
        return api_pb2.DaemonSetList(items=items)

    # ---- apply ------------------------------------------------------------

    def _planned(
        self, request: api_pb2.ApplyRequest
    ) -> tuple[objects_pb2.DaemonSet, DaemonSetState | None]:
        """The validated object an apply would record, and the live one it replaces."""
        # Read before prepare_daemon_set records the object as apps/v1: only
        # extensions/v1beta1 may change a live daemon set's selector.
        written_version = request.daemon_set.api_version
        new = prepare_daemon_set(request.daemon_set)
        key = (new.metadata.namespace, new.metadata.name)
        current = self.ctx.feed.state.daemon_sets.get(key)
        live = current if current is not None and not current.deleted else None
        if live is not None:
            fielderrors.raise_if_any(
                validation.daemon_set_update_errors(live.obj, new, written_version)
            )
        generation = live.obj.metadata.generation if live is not None else 0
        expected = request.expected_generation
        if expected == -1 and live is not None:
            raise Conflict(
                f'daemon set "{key[1]}" already exists (generation {generation}), '
                "expected it not to"
            )
        if expected > 0 and expected != generation:
            raise Conflict(
                f'daemon set "{key[1]}" is at generation {generation}, expected {expected}: '
                "it changed since you looked; plan again"
            )
        # Server-set fields come from the log, never from the client.
        meta = new.metadata
        for name in ("uid", "creation_timestamp", "resource_version", "generate_name"):
            meta.ClearField(name)
        new.spec.template_generation = 0
        if live is None:
            meta.generation = 1
        elif _comparable(live.obj).spec != _comparable(new).spec:
            meta.generation = generation + 1
        else:
            meta.generation = generation
        return new, live

    async def _apply(
        self, request: api_pb2.ApplyRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.ApplyResponse:
        await self.ctx.fresh()
        new, live = self._planned(request)
        key = (new.metadata.namespace, new.metadata.name)
        if live is not None and _comparable(live.obj) == _comparable(new):
            return api_pb2.ApplyResponse(
                daemon_set=self._object(live),
                changed=False,
                created=False,
                seq=self.ctx.feed.state.seq,
            )
        current = self.ctx.feed.state.daemon_sets.get(key)
        stream = daemon_set_stream(*key)
        version = current.version if current is not None else NO_STREAM
        cause = request.change_cause or new.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION, "")
        payload = events_pb2.Event(
            daemon_set_applied=events_pb2.DaemonSetApplied(
                daemon_set=new, template_hash=template_hash(new.spec.template), change_cause=cause
            )
        )
        seq = await self.ctx.commit(
            [NewEvent(stream, payload, self.ctx.actor(context), self.ctx.clock.now())],
            {stream: version},
        )
        return api_pb2.ApplyResponse(
            daemon_set=self._object(self._live(key)),
            changed=True,
            created=live is None,
            seq=seq,
        )

    @rpc
    async def Apply(
        self, request: api_pb2.ApplyRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.ApplyResponse:
        return await self._apply(request, context)

    @rpc
    async def Plan(
        self, request: api_pb2.ApplyRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.PlanResponse:
        await self.ctx.fresh()
        new, live = self._planned(request)
        changes = node_changes(self.ctx.feed.state, live, new)
        spec_changed = live is None or _comparable(live.obj) != _comparable(new)
        return api_pb2.PlanResponse(
            generation=live.obj.metadata.generation if live is not None else 0,
            changed=spec_changed or any(c.action != "keep" for c in changes),
            diff=spec_diff(live.obj if live is not None else None, new),
            changes=changes,
            created=live is None,
        )

    @rpc
    async def Restart(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> api_pb2.ApplyResponse:
        await self.ctx.fresh()
        ds = self._live(_key(request))
        if ds.paused:
            # kubectl's words for a paused deployment.
            raise FailedPrecondition(
                f'can\'t restart paused daemonset "{ds.key[1]}" (run rollout resume first)'
            )
        obj = objects_pb2.DaemonSet()
        obj.CopyFrom(ds.obj)
        obj.spec.template.metadata.annotations[RESTARTED_AT_ANNOTATION] = rfc3339(
            self.ctx.clock.now()
        )
        return await self._apply(
            api_pb2.ApplyRequest(
                daemon_set=obj, expected_generation=ds.obj.metadata.generation
            ),
            context,
        )

    # ---- lifecycle --------------------------------------------------------

    async def _append(
        self, ds: DaemonSetState, payload: events_pb2.Event, context: grpc.aio.ServicerContext
    ) -> int:
        stream = daemon_set_stream(*ds.key)
        return await self.ctx.commit(
            [NewEvent(stream, payload, self.ctx.actor(context), self.ctx.clock.now())],
            {stream: ds.version},
        )

    @rpc
    async def Delete(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> api_pb2.DeleteResponse:
        await self.ctx.fresh()
        ds = self._live(_key(request))
        payload = events_pb2.Event(
            daemon_set_deleted=events_pb2.DaemonSetDeleted(namespace=ds.key[0], name=ds.key[1])
        )
        return api_pb2.DeleteResponse(seq=await self._append(ds, payload, context))

    @rpc
    async def Pause(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> objects_pb2.DaemonSet:
        await self.ctx.fresh()
        ds = self._live(_key(request))
        if not ds.paused:
            payload = events_pb2.Event(
                daemon_set_paused=events_pb2.DaemonSetPaused(namespace=ds.key[0], name=ds.key[1])
            )
            await self._append(ds, payload, context)
        return self._object(self._live(ds.key))

    @rpc
    async def Resume(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> objects_pb2.DaemonSet:
        await self.ctx.fresh()
        ds = self._live(_key(request))
        if ds.paused:
            payload = events_pb2.Event(
                daemon_set_resumed=events_pb2.DaemonSetResumed(
                    namespace=ds.key[0], name=ds.key[1]
                )
            )
            await self._append(ds, payload, context)
        return self._object(self._live(ds.key))

    # ---- revisions --------------------------------------------------------

    @rpc
    async def History(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> api_pb2.HistoryResponse:
        ds = self._live(_key(request))
        return api_pb2.HistoryResponse(
            revisions=[
                api_pb2.Revision(
                    revision=r.revision,
                    hash=r.hash,
                    change_cause=r.change_cause,
                    template=r.template,
                    time=r.time,
                )
                for r in history(ds)
            ],
            current_revision=ds.revision,
        )

    @rpc
    async def Undo(
        self, request: api_pb2.UndoRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.UndoResponse:
        await self.ctx.fresh()
        ds = self._live(_key(request.ref))
        target = rollback_target(ds, request.to_revision)
        if is_current(ds, target):
            return api_pb2.UndoResponse(
                daemon_set=self._object(ds),
                skipped=True,
                revision=ds.revision,
                seq=self.ctx.feed.state.seq,
            )
        rolled_back = rolled_back_daemon_set(ds, target, "user")
        payload = events_pb2.Event(daemon_set_rolled_back=rolled_back)
        seq = await self._append(ds, payload, context)
        ds = self._live(ds.key)
        return api_pb2.UndoResponse(
            daemon_set=self._object(ds), skipped=False, revision=ds.revision, seq=seq
        )

    # ---- rollout status ---------------------------------------------------

    @rpc
    async def WatchRollout(
        self, request: api_pb2.WatchRolloutRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[api_pb2.RolloutStatus]:
        """The rollout's status now, then on every change until done or failed.

        Each message carries the full current state (like health Watch), so
        a slow reader may skip intermediate ones safely.
        """
        key = _key(request.ref)
        feed = self.ctx.feed
        last: tuple[str, bool, bool] | None = None
        async with feed.subscribe(limit=WATCH_BACKLOG) as subscription:
            while True:
                obj = self._object(self._live(key))
                message, done, failed = rollout_status(obj)
                if (message, done, failed) != last:
                    last = (message, done, failed)
                    yield api_pb2.RolloutStatus(
                        daemon_set=obj,
                        done=done,
                        failed=failed,
                        message=message,
                        seq=feed.state.seq,
                    )
                if done or not request.watch:
                    return
                # Wake on a change to this daemon set (or all of them), and
                # on a tick when availability can change with time alone.
                tick = WATCH_TICK if obj.spec.min_ready_seconds else None
                while True:
                    batch = await subscription.get(tick)
                    if subscription.overflowed:
                        subscription.overflowed = False
                        break
                    if not batch or any(
                        t.all_daemon_sets or key in t.daemon_sets for _e, t in batch
                    ):
                        break


def register(ctx: PlaneContext, server: grpc.aio.Server) -> str:
    add_servicer(api_pb2_grpc.add_DaemonSetsServicer_to_server, DaemonSetsServicer(ctx), server)
    return "ctrlplane.v1.DaemonSets"
