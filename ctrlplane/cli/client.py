"""dsctl's connection to a plane: channel, stubs, call metadata, and errors.

Owns turning a gRPC failure into one line a person can act on and an exit
code. It does not parse arguments or format objects.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeAlias

import grpc

from ctrlplane._proto.v1 import api_pb2_grpc

DEFAULT_SERVER = "127.0.0.1:7443"
SERVER_ENV = "DSCTL_SERVER"
TOKEN_ENV = "DSCTL_TOKEN"
USER_METADATA = "x-ctrlplane-user"
# Unary calls are quick on a healthy plane; a hung one should not hang a script.
DEFAULT_TIMEOUT = 30.0


class CliError(Exception):
    """A failure to report as `error: <message>` with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def resolve_server(flag: str | None) -> str:
    return flag or os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # No passwd entry (e.g. an arbitrary uid in a container).
        return f"uid-{os.getuid()}"


def call_metadata() -> tuple[tuple[str, str], ...]:
    metadata = [(USER_METADATA, os_user())]
    token = os.environ.get(TOKEN_ENV)
    if token:
        metadata.append(("authorization", f"Bearer {token}"))
    return tuple(metadata)


@dataclass(slots=True)
class Client:
    """Stubs over one channel; `metadata` goes with every call."""

    server: str
    channel: grpc.Channel
    daemon_sets: api_pb2_grpc.DaemonSetsStub
    nodes: api_pb2_grpc.NodesStub
    pods: api_pb2_grpc.PodsStub
    events: api_pb2_grpc.EventsStub
    metadata: tuple[tuple[str, str], ...]
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def connect(cls, server: str) -> Client:
        options = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            # Fail fast when the plane is down instead of retrying for 20 s.
            ("grpc.initial_reconnect_backoff_ms", 200),
        ]
        channel = grpc.insecure_channel(server, options=options)
        return cls(
            server=server,
            channel=channel,
            daemon_sets=api_pb2_grpc.DaemonSetsStub(channel),  # type: ignore[no-untyped-call]
            nodes=api_pb2_grpc.NodesStub(channel),  # type: ignore[no-untyped-call]
            pods=api_pb2_grpc.PodsStub(channel),  # type: ignore[no-untyped-call]
            events=api_pb2_grpc.EventsStub(channel),  # type: ignore[no-untyped-call]
            metadata=call_metadata(),
        )

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def rpc_error_message(error: grpc.RpcError, server: str) -> str:
    """One line for a failed call, naming the plane when it cannot be reached."""
    code = error.code() if isinstance(error, grpc.Call) else None
    details = (error.details() if isinstance(error, grpc.Call) else "") or ""
    details = " ".join(details.split())
    if code == grpc.StatusCode.UNAVAILABLE and not _is_connection_failure(details):
        # The plane answered but cannot serve yet (e.g. still folding its log).
        return f"the plane at {server} is unavailable: {details}"
    if code == grpc.StatusCode.UNAVAILABLE:
        return (
            f"cannot reach the plane at {server} ({_short_unavailable(details)}); "
            f"start one with `ctrlplane serve --listen {server}`, "
            f"or point dsctl elsewhere with --server or ${SERVER_ENV}"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the plane at {server} did not answer in time ({details or 'deadline exceeded'})"
    if code == grpc.StatusCode.ABORTED:
        return f"conflict: {details}" if details else "conflict: the object changed meanwhile"
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return f"the plane at {server} does not implement this call ({details or 'unimplemented'})"
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return f"{details or code.name.lower()} (set a token in ${TOKEN_ENV})"
    if details:
        return details
    return code.name if code is not None else str(error)


# grpc core's words when no connection could be made (vs. a plane that said UNAVAILABLE).
_CONNECTION_FAILURES = ("failed to connect", "connection refused", "dns resolution",
                        "socket closed", "connection reset", "connect failed", "unreachable")


def _is_connection_failure(details: str) -> bool:
    lowered = details.lower()
    return not details or any(words in lowered for words in _CONNECTION_FAILURES)


def _short_unavailable(details: str) -> str:
    # grpc core's text is "failed to connect to all addresses; last error: UNKNOWN:
    # ipv4:127.0.0.1:7443: Failed to connect to remote host: Connection refused".
    if "connection refused" in details.lower():
        return "connection refused"
    return details.rpartition(": ")[2] or details or "unavailable"


def rpc_code(error: grpc.RpcError) -> grpc.StatusCode | None:
    return error.code() if isinstance(error, grpc.Call) else None


# ---- wiring commands ---------------------------------------------------------

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[Client, argparse.Namespace], int]


def common_parents() -> list[argparse.ArgumentParser]:
    """Flags every subcommand takes after its name too (`dsctl get ds --server X`)."""
    parent = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: unset here leaves the value from before the subcommand alone.
    parent.add_argument("--server", "-s", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return [parent]


def bind(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """An `args.func` that connects to the plane named by --server and runs `handler`."""

    def run(args: argparse.Namespace) -> int:
        with Client.connect(resolve_server(getattr(args, "server", None))) as client:
            args.server = client.server
            return handler(client, args)

    return run
