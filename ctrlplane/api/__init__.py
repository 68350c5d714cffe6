"""The gRPC API: thin servicers from requests to events and queries of the state."""

from __future__ import annotations

import grpc

from ctrlplane.api import agent, daemonsets, events, nodes, pods
from ctrlplane.api.context import PlaneContext, Registrar

CORE_SERVICES: tuple[Registrar, ...] = (
    daemonsets.register,
    nodes.register,
    pods.register,
    events.register,
    agent.register,
)


def register_core_services(ctx: PlaneContext, server: grpc.aio.Server) -> list[str]:
    """Add the client API's servicers; return their full service names (for reflection)."""
    names = [register(ctx, server) for register in CORE_SERVICES]
    return [name for name in names if name]


__all__ = ["PlaneContext", "Registrar", "register_core_services"]
