"""Nodes service: register, list, get, label, taint, cordon — as node facts in the log.

Each write computes the node's complete new labels/taints from the folded
state (kubectl's rules, --overwrite included), appends one fact guarded by the
node stream's version, and answers from the state once it is folded. A write
that changes nothing appends nothing.
"""

from __future__ import annotations

import grpc

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2, objects_pb2
from ctrlplane.api.context import PlaneContext, add_servicer
from ctrlplane.api.errors import rpc
from ctrlplane.api.objects import node_object
from ctrlplane.domain import taints as taint_rules
from ctrlplane.domain.errors import FailedPrecondition, FieldError, InvalidSpec, NotFound
from ctrlplane.domain.labels import parse_selector
from ctrlplane.domain.state import NodeState
from ctrlplane.domain.streams import node_stream
from ctrlplane.domain.validation import (
    label_key_errors,
    labels_errors,
    node_name_errors,
    taints_errors,
)
from ctrlplane.eventlog.base import NewEvent


def _same_taints(a: list[objects_pb2.Taint], b: list[objects_pb2.Taint]) -> bool:
    def key(t: objects_pb2.Taint) -> tuple[str, str, str]:
        return (t.key, t.value, t.effect)

    return sorted(map(key, a)) == sorted(map(key, b))


class NodesServicer(api_pb2_grpc.NodesServicer):
    def __init__(self, ctx: PlaneContext) -> None:
        self.ctx = ctx

    def _node(self, name: str) -> NodeState:
        node = self.ctx.feed.state.nodes.get(name)
        if node is None:
            raise NotFound("node", name)
        return node

    async def _write(
        self, name: str, payloads: list[events_pb2.Event], version: int, actor: str
    ) -> objects_pb2.Node:
        if payloads:
            now = self.ctx.clock.now()
            stream = node_stream(name)
            await self.ctx.commit(
                [NewEvent(stream, payload, actor, now) for payload in payloads],
                {stream: version},
            )
        return node_object(self._node(name))

    @rpc
    async def Register(
        self, request: objects_pb2.Node, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        name = request.metadata.name
        errors = node_name_errors(name)
        errors += labels_errors(request.metadata.labels)
        errors += taints_errors(list(request.spec.taints))
        if errors:
            raise InvalidSpec(errors)
        await self.ctx.fresh()
        current = self.ctx.feed.state.nodes.get(name)
        actor = self.ctx.actor(context)
        if current is None:
            node = objects_pb2.Node()
            node.metadata.name = name
            node.metadata.labels.update(request.metadata.labels)
            node.spec.CopyFrom(request.spec)
            version = await self.ctx.store.stream_version(node_stream(name))
            payload = events_pb2.Event(node_registered=events_pb2.NodeRegistered(node=node))
            return await self._write(name, [payload], version, actor)
        # Registering again: record only what differs, as the specific facts.
        payloads: list[events_pb2.Event] = []
        if dict(current.node.metadata.labels) != dict(request.metadata.labels):
            payloads.append(_labels_event(name, dict(request.metadata.labels)))
        if not _same_taints(list(current.node.spec.taints), list(request.spec.taints)):
            payloads.append(_taints_event(name, list(request.spec.taints)))
        if current.node.spec.unschedulable != request.spec.unschedulable:
            payloads.append(_cordon_event(name, request.spec.unschedulable))
        return await self._write(name, payloads, current.version, actor)

    @rpc
    async def List(
        self, request: api_pb2.ListNodesRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.NodeList:
        selector = parse_selector(request.label_selector, "label_selector")
        nodes = self.ctx.feed.state.nodes
        return api_pb2.NodeList(
            items=[
                node_object(nodes[name])
                for name in sorted(nodes)
                if selector.matches(nodes[name].node.metadata.labels)
            ]
        )

    @rpc
    async def Get(
        self, request: api_pb2.NodeRef, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        return node_object(self._node(request.name))

    @rpc
    async def Label(
        self, request: api_pb2.LabelRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        errors = labels_errors(request.set, "labels")
        for key in request.remove:
            errors += label_key_errors(key, f"labels[{key}]")
            if key in request.set:
                errors.append(FieldError(f"labels[{key}]", "can not both modify and remove"))
        if errors:
            raise InvalidSpec(errors)
        await self.ctx.fresh()
        node = self._node(request.name)
        labels = dict(node.node.metadata.labels)
        if not request.overwrite:
            for key, value in request.set.items():
                if key in labels and labels[key] != value:
                    # kubectl's own words (kubectl label).
                    raise FailedPrecondition(
                        f"'{key}' already has a value ({labels[key]}), "
                        "and --overwrite is false"
                    )
        new = dict(labels)
        new.update(request.set)
        for key in request.remove:
            new.pop(key, None)  # kubectl only warns about a missing label
        payloads = [_labels_event(request.name, new)] if new != labels else []
        return await self._write(request.name, payloads, node.version, self.ctx.actor(context))

    @rpc
    async def Taint(
        self, request: api_pb2.TaintRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        errors = taints_errors(list(request.add), "add")
        if errors:
            raise InvalidSpec(errors)
        await self.ctx.fresh()
        node = self._node(request.name)
        current = list(node.node.spec.taints)
        removals = [taint_rules.TaintRemoval(t.key, t.effect) for t in request.remove]
        new = taint_rules.apply_taint_changes(
            request.name, current, list(request.add), removals, overwrite=request.overwrite
        )
        payloads = [] if _same_taints(new, current) else [_taints_event(request.name, new)]
        return await self._write(request.name, payloads, node.version, self.ctx.actor(context))

    @rpc
    async def Cordon(
        self, request: api_pb2.CordonRequest, context: grpc.aio.ServicerContext
    ) -> objects_pb2.Node:
        await self.ctx.fresh()
        node = self._node(request.name)
        changed = node.node.spec.unschedulable != request.unschedulable
        payloads = [_cordon_event(request.name, request.unschedulable)] if changed else []
        return await self._write(request.name, payloads, node.version, self.ctx.actor(context))


def _labels_event(name: str, labels: dict[str, str]) -> events_pb2.Event:
    return events_pb2.Event(
        node_labels_changed=events_pb2.NodeLabelsChanged(node_name=name, labels=labels)
    )


def _taints_event(name: str, taints: list[objects_pb2.Taint]) -> events_pb2.Event:
    return events_pb2.Event(
        node_taints_changed=events_pb2.NodeTaintsChanged(node_name=name, taints=taints)
    )


def _cordon_event(name: str, unschedulable: bool) -> events_pb2.Event:
    if unschedulable:
        return events_pb2.Event(node_cordoned=events_pb2.NodeCordoned(node_name=name))
    return events_pb2.Event(node_uncordoned=events_pb2.NodeUncordoned(node_name=name))


def register(ctx: PlaneContext, server: grpc.aio.Server) -> str:
    add_servicer(api_pb2_grpc.add_NodesServicer_to_server, NodesServicer(ctx), server)
    return "ctrlplane.v1.Nodes"
