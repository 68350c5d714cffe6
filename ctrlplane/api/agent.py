"""Agent.Connect: checks an agent's Hello, then runs its stream on the hub.

The hub (agent_hub.py) owns the streams, leases and batched appends; this
module only admits a stream (validation, mTLS and token checks) and pumps
its reads and writes. It decides nothing about pods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from ctrlplane._proto.v1 import agent_pb2, agent_pb2_grpc
from ctrlplane.api.agent_hub import SERVICE_NAME, AgentHub
from ctrlplane.api.agent_stream import QUEUE_LIMIT, _Stream, hello_facts
from ctrlplane.api.auth import AGENT, PermissionDenied, authorize_node, bearer_token
from ctrlplane.api.context import PlaneContext
from ctrlplane.domain.names import is_dns1123_subdomain
from ctrlplane.domain.validation import labels_errors, taints_errors

log = logging.getLogger(__name__)

__all__ = ["QUEUE_LIMIT", "SERVICE_NAME", "AgentHub", "AgentServicer", "_Stream", "register"]


def hello_errors(hello: agent_pb2.Hello) -> list[str]:
    """Names, labels and taints checked before anything reaches the log."""
    problems = [f"node_name: {m}" for m in is_dns1123_subdomain(hello.node_name)]
    problems += [str(e) for e in labels_errors(dict(hello.labels), "labels")]
    problems += [str(e) for e in taints_errors(list(hello.taints), "taints")]
    return problems


class AgentServicer(agent_pb2_grpc.AgentServicer):
    def __init__(self, hub: AgentHub) -> None:
        self.hub = hub

    async def Connect(
        self,
        request_iterator: AsyncIterator[agent_pb2.AgentMessage],
        context: grpc.aio.ServicerContext,
    ) -> None:
        # context.read() rather than the request iterator: no async generator
        # per stream (measurable in a reconnect storm of 10,000 agents).
        await self.hub.ctx.feed.ready.wait()
        first = await context.read()
        if not isinstance(first, agent_pb2.AgentMessage) or not first.hello.node_name:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the first message on Agent.Connect must be a Hello with node_name",
            )
            return
        facts = hello_facts(first.hello)
        # A known node repeating its recorded labels and taints was validated
        # when they were recorded: a reconnect storm skips the checks.
        known = self.hub.knows(first.hello.node_name, facts)
        problems = [] if known else hello_errors(first.hello)
        if problems:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "; ".join(problems))
            return
        try:  # under mTLS, the certificate names the node it may speak for
            authorize_node(context, first.hello.node_name, mtls=self.hub.ctx.mtls)
        except PermissionDenied as denied:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(denied))
            return
        tokens = self.hub.ctx.tokens
        if tokens is not None:
            # A node's agent speaks only for its own node (admins for any).
            token = bearer_token(context.invocation_metadata())
            who = tokens.identify(token) if token else None
            if who is not None and who.role == AGENT and who.user != first.hello.node_name:
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"agent {who.user!r} may only speak for node {who.user!r}, "
                    f"not {first.hello.node_name!r}",
                )
                return
        if self.hub.closing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the plane is stopping")
            return
        stream = self.hub.open(first.hello, facts)
        failed: Exception | None = None
        try:
            # Reader and writer together: either failing ends the call (the
            # agent reconnects and gets a snapshot), never a silent writer
            # behind a reader that keeps the lease alive.
            async with asyncio.TaskGroup() as tg:
                stream.reader = tg.create_task(self._read(stream, context))
                tg.create_task(self.hub.write(stream, context))
        except* Exception as group:
            failed = group.exceptions[0]
            log.error("agent stream of %s failed", stream.node, exc_info=failed)
        finally:
            stream.closed = True
            self.hub.close(stream, clean=stream.clean)
        if failed is not None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"agent stream failed: {failed!r}")

    async def _read(self, stream: _Stream, context: grpc.aio.ServicerContext) -> None:
        """Everything the agent sends, until EOF or goodbye; then the writer stops too."""
        try:
            while not stream.closed:
                msg = await context.read()
                if not isinstance(msg, agent_pb2.AgentMessage):
                    break  # EOF without a goodbye: the lease decides
                if msg.WhichOneof("msg") == "goodbye":
                    stream.clean = not stream.closed
                    break
                self.hub.receive(stream, msg)
        finally:
            stream.closed = True
            stream.wake.set()


def register(ctx: PlaneContext, server: grpc.aio.Server) -> str:
    """Add Agent.Connect to `server`; the hub runs in the plane's task group.

    The plane creates its task group before services register, so the hub's
    task is spawned here (it waits for the feed itself).
    """
    hub = AgentHub(ctx)
    agent_pb2_grpc.add_AgentServicer_to_server(AgentServicer(hub), server)  # type: ignore[no-untyped-call]
    ctx.spawn(hub.run())
    ctx.on_stop(hub.close_all)
    return SERVICE_NAME
