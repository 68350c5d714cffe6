"""Pods service: list pods (daemon pods and static mirrors) and request a deletion.

A deletion is a user fact (PodDeleteRequested on the owning daemon set's
stream); the controller decides what follows. Mirror pods of static pods are
refused: only removing the manifest file on the node deletes them.
"""

from __future__ import annotations

import grpc

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2
from ctrlplane.api.context import PlaneContext, add_servicer
from ctrlplane.api.errors import rpc
from ctrlplane.domain.errors import FailedPrecondition, NotFound
from ctrlplane.domain.labels import parse_selector
from ctrlplane.domain.pods import pod_object
from ctrlplane.domain.streams import daemon_set_stream, namespace_or_default
from ctrlplane.eventlog.base import NewEvent


class PodsServicer(api_pb2_grpc.PodsServicer):
    def __init__(self, ctx: PlaneContext) -> None:
        self.ctx = ctx

    @rpc
    async def List(
        self, request: api_pb2.ListPodsRequest, context: grpc.aio.ServicerContext
    ) -> api_pb2.PodList:
        selector = parse_selector(request.label_selector, "label_selector")
        state = self.ctx.feed.state
        if request.node_name:
            node = state.nodes.get(request.node_name)
            keys = sorted(node.pods) if node is not None else []
        else:
            keys = sorted(state.pods)
        items = []
        for key in keys:
            pod = state.pods[key]
            if request.namespace and key[0] != request.namespace:
                continue
            obj = pod_object(state, pod)
            if selector.matches(obj.metadata.labels):
                items.append(obj)
        return api_pb2.PodList(items=items)

    @rpc
    async def Delete(
        self, request: api_pb2.ObjectRef, context: grpc.aio.ServicerContext
    ) -> api_pb2.DeleteResponse:
        namespace = namespace_or_default(request.namespace)
        await self.ctx.fresh()
        state = self.ctx.feed.state
        pod = state.pods.get((namespace, request.name))
        if pod is None:
            raise NotFound("pod", request.name)
        if pod.static or pod.owner is None:
            raise FailedPrecondition(
                f"pod {request.name} is a mirror of a static pod on node {pod.node_name}: "
                "remove its manifest file from the node's --pod-manifest-path to delete it"
            )
        ds = state.daemon_sets[pod.owner]
        stream = daemon_set_stream(*pod.owner)
        payload = events_pb2.Event(
            pod_delete_requested=events_pb2.PodDeleteRequested(
                namespace=namespace, pod_name=request.name
            )
        )
        seq = await self.ctx.commit(
            [NewEvent(stream, payload, self.ctx.actor(context), self.ctx.clock.now())],
            {stream: ds.version},
        )
        return api_pb2.DeleteResponse(seq=seq)


def register(ctx: PlaneContext, server: grpc.aio.Server) -> str:
    add_servicer(api_pb2_grpc.add_PodsServicer_to_server, PodsServicer(ctx), server)
    return "ctrlplane.v1.Pods"
