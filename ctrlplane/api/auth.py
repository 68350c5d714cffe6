"""API bearer tokens with roles: who is calling, and may they call this method.

Off unless the plane is given a token table (`ctrlplane serve --tokens FILE`,
one `token,user,role` per line, as kube-apiserver's --token-auth-file). Then
every call but health and reflection needs `authorization: Bearer <token>`:
none or an unknown one is UNAUTHENTICATED, a role without the method is
PERMISSION_DENIED. The user a token names is the actor recorded in events,
so the log is also the audit trail. Without tokens the caller's
`x-ctrlplane-user` metadata is recorded as given (trusted, for a local plane).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

ADMIN = "admin"
VIEWER = "viewer"
AGENT = "agent"
ROLES = (ADMIN, VIEWER, AGENT)

# Methods that only read; everything else in ctrlplane.v1 writes.
READ_METHODS = frozenset(
    {
        "/ctrlplane.v1.DaemonSets/Get",
        "/ctrlplane.v1.DaemonSets/List",
        "/ctrlplane.v1.DaemonSets/History",
        "/ctrlplane.v1.DaemonSets/Plan",
        "/ctrlplane.v1.DaemonSets/WatchRollout",
        "/ctrlplane.v1.Nodes/List",
        "/ctrlplane.v1.Nodes/Get",
        "/ctrlplane.v1.Pods/List",
        "/ctrlplane.v1.Events/Read",
        "/ctrlplane.v1.Events/Follow",
        "/ctrlplane.v1.Events/Head",
    }
)
AGENT_METHODS = frozenset({"/ctrlplane.v1.Agent/Connect"})
# Open to everyone: load balancers probe health, tools list services.
PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    role: str

    @property
    def actor(self) -> str:
        return f"user:{self.user}"


def allowed(role: str, method: str) -> bool:
    if role == ADMIN:
        return True
    if role == VIEWER:
        return method in READ_METHODS
    if role == AGENT:
        return method in AGENT_METHODS
    return False


class TokenTable:
    """token -> Identity; compared in constant time."""

    def __init__(self, entries: Mapping[str, Identity]) -> None:
        self._entries = dict(entries)

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "tokens") -> TokenTable:
        entries: dict[str, Identity] = {}
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 3 or not all(parts):
                raise ValueError(f"{source}:{number}: expected token,user,role")
            token, user, role = parts
            if role not in ROLES:
                raise ValueError(f"{source}:{number}: role {role!r} is not one of {ROLES}")
            if token in entries:
                raise ValueError(f"{source}:{number}: duplicate token")
            entries[token] = Identity(user, role)
        return cls(entries)

    @classmethod
    def load(cls, path: str | Path) -> TokenTable:
        return cls.parse(Path(path).read_text(encoding="utf-8").splitlines(), str(path))

    def identify(self, token: str) -> Identity | None:
        found: Identity | None = None
        for known, identity in self._entries.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = identity
        return found


def peer_common_name(context: grpc.aio.ServicerContext) -> str | None:
    """The CN of the caller's verified client certificate (mTLS), or None.

    With `PlaneConfig.client_ca` every caller has one: an agent's names its
    node ("node-1" or "system:node:node-1"), and Agent.Connect may refuse a
    Hello for another node.
    """
    names = (context.auth_context() or {}).get("x509_common_name") or []
    return names[0].decode() if names else None


def node_of_common_name(common_name: str) -> str:
    """The node a certificate speaks for: its CN, without Kubernetes' system:node: prefix."""
    return common_name.removeprefix("system:node:")


class PermissionDenied(Exception):
    """The caller is known but may not do this (PERMISSION_DENIED in errors.py)."""


def authorize_node(
    context: grpc.aio.ServicerContext, node_name: str, *, mtls: bool
) -> None:
    """Under mTLS, an agent may only speak for the node its certificate names.

    For Agent.Connect: call with the Hello's node name and `ctx.mtls`; raises
    PermissionDenied otherwise. Without mTLS there is nothing to check.
    """
    if not mtls:
        return
    common_name = peer_common_name(context)
    if common_name is None or node_of_common_name(common_name) != node_name:
        raise PermissionDenied(
            f"certificate {common_name or '(none)'} may not speak for node {node_name}"
        )


def bearer_token(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            text = value if isinstance(value, str) else value.decode()
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _refusal(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> Any:
    """A handler of the same shape as `handler` that ends the call with `code`."""

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)
        yield  # pragma: no cover - makes this an async generator

    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(streaming, des, ser)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary, des, ser)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(streaming, des, ser)
    return grpc.unary_unary_rpc_method_handler(unary, des, ser)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, tokens: TokenTable) -> None:
        self.tokens = tokens

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        token = bearer_token(details.invocation_metadata)
        identity = self.tokens.identify(token) if token else None
        if identity is None:
            return _refusal(
                handler,
                grpc.StatusCode.UNAUTHENTICATED,
                "a valid bearer token is required (authorization: Bearer <token>)",
            )
        if not allowed(identity.role, method):
            return _refusal(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                f"user {identity.user!r} (role {identity.role}) may not call {method}",
            )
        return handler
