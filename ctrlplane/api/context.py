"""What every servicer gets from the plane: the store, the feed, the clock, settings.

The server builds one PlaneContext and passes it down (no globals). Servicers
read `feed.state` between awaits and append to `store`; they never mutate
the state themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from ctrlplane.api.auth import TokenTable, bearer_token, peer_common_name
from ctrlplane.clock import Clock
from ctrlplane.controller.feed import StateFeed
from ctrlplane.eventlog.base import EventStore, NewEvent

log = logging.getLogger(__name__)

USER_METADATA_KEY = "x-ctrlplane-user"
ANONYMOUS = "user:anonymous"

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
StopHook = Callable[[], None]


@dataclass(slots=True)
class PlaneContext:
    store: EventStore
    feed: StateFeed
    clock: Clock
    # Agents: how often they heartbeat, and how long a lease lasts without one.
    heartbeat_interval: float
    lease_seconds: float
    # Starts a background task in the plane's task group (it lives until the
    # plane stops; an exception in it stops the plane).
    spawn: Spawn
    # How long a request waits for the feed to fold its own write.
    read_your_writes_timeout: float = 10.0
    # Bearer tokens (see auth.py); None: no authentication, actor from metadata.
    tokens: TokenTable | None = None
    # Clients present verified certificates (auth.peer_common_name names them).
    mtls: bool = False
    # Called when the plane begins to stop, before in-flight calls get their
    # grace: services end calls that would otherwise never end (agent streams).
    stop_hooks: list[StopHook] = field(default_factory=list)

    def on_stop(self, hook: StopHook) -> None:
        """Call `hook` when the plane begins to stop (see stop_hooks)."""
        self.stop_hooks.append(hook)

    def stopping(self) -> None:
        """The plane begins to stop: run every stop hook (a failing one is logged)."""
        for hook in self.stop_hooks:
            try:
                hook()
            except Exception:  # one service's hook must not keep the plane up
                log.exception("stop hook %r failed", hook)

    def actor(self, context: grpc.aio.ServicerContext) -> str:
        """Who is calling, as recorded in events: the token's user, else the client
        certificate's CN (mTLS), else the x-ctrlplane-user metadata."""
        if self.tokens is not None:
            token = bearer_token(context.invocation_metadata())
            identity = self.tokens.identify(token) if token else None
            if identity is not None:
                return identity.actor
        if self.mtls:
            common_name = peer_common_name(context)
            if common_name:
                return f"user:{common_name}"
        return actor_of(context)

    async def commit(
        self, events: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> int:
        """Append, then wait until the feed has folded it (read-your-writes); the seq."""
        seq = await self.store.append(events, expected)
        await self.feed.wait_for_seq(seq, self.read_your_writes_timeout)
        return seq

    async def fresh(self) -> None:
        """Wait until the state holds everything in the log now (a read after others' writes)."""
        await self.feed.wait_for_seq(await self.store.head(), self.read_your_writes_timeout)


Registrar = Callable[[PlaneContext, grpc.aio.Server], "str | None"]
"""Adds a servicer to the server and returns its full service name (for
reflection), e.g. "ctrlplane.v1.Agent". Extra services (Agent.Connect) come
as these, through PlaneConfig.services or Plane.add_service."""


def actor_of(context: grpc.aio.ServicerContext) -> str:
    """The actor recorded in events: "user:" + the caller's x-ctrlplane-user metadata."""
    for key, value in context.invocation_metadata() or ():
        if key == USER_METADATA_KEY and value:
            name = value if isinstance(value, str) else value.decode()
            return name if name.startswith("user:") else f"user:{name}"
    return ANONYMOUS


def add_servicer(add: Callable[..., Any], servicer: object, server: grpc.aio.Server) -> None:
    """Call a generated add_*Servicer_to_server (untyped generated code)."""
    add(servicer, server)
