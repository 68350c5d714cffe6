"""Events service: read the log from a seq, follow it live, and its head.

Events are streamed exactly as the log stores them (envelope filled); this
module never decodes or filters their meaning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2
from ctrlplane.api.context import PlaneContext, add_servicer
from ctrlplane.api.errors import rpc

# Rows per store read: bounds memory per stream, big enough to stream fast.
READ_BATCH = 1000


class EventsServicer(api_pb2_grpc.EventsServicer):
    def __init__(self, ctx: PlaneContext) -> None:
        self.ctx = ctx

    @rpc
    async def Read(
        self, request: api_pb2.ReadEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[events_pb2.Event]:
        """Events after `after_seq` up to the head as it is when the call starts."""
        until = request.until_seq or await self.ctx.store.head()
        async for event in self._events(request.after_seq, until, request.limit, follow=False):
            yield event

    @rpc
    async def Follow(
        self, request: api_pb2.ReadEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[events_pb2.Event]:
        """Catch up from `after_seq`, then stay live until the client goes away."""
        until = request.until_seq or None
        async for event in self._events(request.after_seq, until, request.limit, follow=True):
            yield event

    @rpc
    async def Head(
        self, request: api_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> api_pb2.HeadResponse:
        return api_pb2.HeadResponse(seq=await self.ctx.store.head())

    async def _events(
        self, after: int, until: int | None, limit: int, *, follow: bool
    ) -> AsyncIterator[events_pb2.Event]:
        """Events after `after` up to `until` (None: no end), at most `limit` (0: all).

        At the head, `follow` waits for more; otherwise the stream ends there.
        """
        store = self.ctx.store
        remaining = limit or None
        while until is None or after < until:
            batch = min(READ_BATCH, remaining) if remaining is not None else READ_BATCH
            events = await store.read(after, limit=batch, until_seq=until)
            if not events:
                if not follow:
                    return
                await store.wait(after)
                continue
            for event in events:
                yield event
            after = events[-1].seq
            if remaining is not None:
                remaining -= len(events)
                if remaining <= 0:
                    return


def register(ctx: PlaneContext, server: grpc.aio.Server) -> str:
    add_servicer(api_pb2_grpc.add_EventsServicer_to_server, EventsServicer(ctx), server)
    return "ctrlplane.v1.Events"
