"""dsctl's connection to a plane: channel, stubs, call metadata, TLS, and errors.

Every call carries `x-ctrlplane-user` and, when $DSCTL_TOKEN is set,
`authorization: Bearer <token>` (`ctrlplane serve --tokens`). With any of
kubectl's TLS flags (--certificate-authority, --client-certificate,
--client-key; or their $DSCTL_* variables) the channel is TLS, matching
`ctrlplane serve --tls-cert/--tls-key` and, for mTLS, `--client-ca`.
Owns turning a gRPC failure into one line a person can act on and an exit
code. It does not parse arguments (beyond the connection flags) or format objects.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeAlias

import grpc

from ctrlplane._proto.v1 import api_pb2_grpc

DEFAULT_SERVER = "127.0.0.1:7443"
SERVER_ENV = "DSCTL_SERVER"
TOKEN_ENV = "DSCTL_TOKEN"
USER_METADATA = "x-ctrlplane-user"
# kubectl's flag names; the variables serve when the flags are not given.
CA_ENV = "DSCTL_CERTIFICATE_AUTHORITY"
CERT_ENV = "DSCTL_CLIENT_CERTIFICATE"
KEY_ENV = "DSCTL_CLIENT_KEY"
SERVER_NAME_ENV = "DSCTL_TLS_SERVER_NAME"
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


@dataclass(frozen=True, slots=True)
class Tls:
    """PEM files for a TLS channel; all empty means an insecure channel."""

    ca: str = ""  # verify the plane with this CA (default: the system's roots)
    cert: str = ""  # present this client certificate (mTLS) ...
    key: str = ""  # ... with this private key
    server_name: str = ""  # expect this name in the plane's certificate

    @property
    def enabled(self) -> bool:
        return bool(self.ca or self.cert or self.key or self.server_name)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Tls:
        """The flags, else the $DSCTL_* variables."""

        def pick(flag: str, env: str) -> str:
            value: str = getattr(args, flag, None) or os.environ.get(env, "")
            return value

        return cls(
            ca=pick("certificate_authority", CA_ENV),
            cert=pick("client_certificate", CERT_ENV),
            key=pick("client_key", KEY_ENV),
            server_name=pick("tls_server_name", SERVER_NAME_ENV),
        )

    def credentials(self) -> grpc.ChannelCredentials:
        if bool(self.cert) != bool(self.key):
            raise CliError("--client-certificate and --client-key go together (mTLS)")
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "--certificate-authority"),
            private_key=_read(self.key, "--client-key"),
            certificate_chain=_read(self.cert, "--client-certificate"),
        )


def _read(path: str, flag: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as error:
        raise CliError(f"{flag}: cannot read {path}: {error.strerror or error}") from error


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
    def connect(cls, server: str, tls: Tls | None = None) -> Client:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            # Fail fast when the plane is down instead of retrying for 20 s.
            ("grpc.initial_reconnect_backoff_ms", 200),
        ]
        if tls is not None and tls.enabled:
            if tls.server_name:
                options.append(("grpc.ssl_target_name_override", tls.server_name))
            channel = grpc.secure_channel(server, tls.credentials(), options=options)
        else:
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
    if code == grpc.StatusCode.UNAVAILABLE and _is_tls_failure(details):
        return (
            f"TLS with the plane at {server} failed ({_tls_reason(details)}); "
            "check --certificate-authority, --client-certificate and --client-key"
        )
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


# grpc core's words when the TLS handshake failed (a certificate not trusted or not matching).
_TLS_FAILURES = ("handshake failed", "ssl_error", "verification check failed")


def _is_tls_failure(details: str) -> bool:
    lowered = details.lower()
    return any(words in lowered for words in _TLS_FAILURES)


def _tls_reason(details: str) -> str:
    # "...: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL
    # routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer
    # certificate: OK", or "...: Custom verification check failed with error:
    # UNAUTHENTICATED: Hostname Verification Check failed."
    parts = [p.strip() for p in details.split(": ") if p.strip() and p.strip() != "OK"]
    return parts[-1].rstrip(".") if parts else "handshake failed"


def _short_unavailable(details: str) -> str:
    # grpc core's text is "failed to connect to all addresses; last error: UNKNOWN:
    # ipv4:127.0.0.1:7443: Failed to connect to remote host: Connection refused".
    if "connection refused" in details.lower():
        return "connection refused"
    if "socket closed" in details.lower():
        # What a plane serving TLS does to a plain connection.
        return "socket closed; if it serves TLS, pass --certificate-authority"
    return details.rpartition(": ")[2] or details or "unavailable"


# ---- wiring commands ---------------------------------------------------------

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[Client, argparse.Namespace], int]


def add_tls_flags(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """kubectl's TLS flags (argparse.SUPPRESS as `default` after a subcommand)."""
    parser.add_argument(
        "--certificate-authority", metavar="PEM", default=default,
        help=f"verify the plane's TLS certificate with this CA (env {CA_ENV})",
    )
    parser.add_argument(
        "--client-certificate", metavar="PEM", default=default,
        help=f"present this certificate to the plane, for mTLS (env {CERT_ENV})",
    )
    parser.add_argument(
        "--client-key", metavar="PEM", default=default,
        help=f"the client certificate's private key (env {KEY_ENV})",
    )
    parser.add_argument(
        "--tls-server-name", metavar="NAME", default=default,
        help=f"the name the plane's certificate must carry (env {SERVER_NAME_ENV})",
    )


def common_parents() -> list[argparse.ArgumentParser]:
    """Flags every subcommand takes after its name too (`dsctl get ds --server X`)."""
    parent = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: unset here leaves the value from before the subcommand alone.
    parent.add_argument("--server", "-s", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_tls_flags(parent, default=argparse.SUPPRESS)
    return [parent]


def bind(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """An `args.func` that connects to the plane named by --server and runs `handler`."""

    def run(args: argparse.Namespace) -> int:
        server = resolve_server(getattr(args, "server", None))
        with Client.connect(server, Tls.from_args(args)) as client:
            args.server = client.server
            return handler(client, args)

    return run
