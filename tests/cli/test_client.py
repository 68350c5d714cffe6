"""The one-line messages dsctl prints for gRPC failures (pure: no plane needed).

The TLS round trip (flags, $DSCTL_TOKEN) is in test_dsctl_plane.py.
"""

from __future__ import annotations

import grpc
import pytest

from ctrlplane.cli.client import rpc_error_message

SERVER = "127.0.0.1:7443"


class Failure(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """A finished call's error as grpc raises it: a code and details."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> None: ...
    def trailing_metadata(self) -> None: ...
    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None: ...
    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: object) -> bool:
        return False


@pytest.mark.parametrize(
    ("code", "details", "message"),
    [
        pytest.param(
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:7443: "
            "Failed to connect to remote host: Connection refused",
            f"cannot reach the plane at {SERVER} (connection refused); start one with "
            f"`ctrlplane serve --listen {SERVER}`, or point dsctl elsewhere with --server or "
            "$DSCTL_SERVER",
            id="refused",
        ),
        pytest.param(
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:7443: Tls "
            "handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:"
            "OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate"
            ": OK",
            f"TLS with the plane at {SERVER} failed (unable to get local issuer certificate); "
            "check --certificate-authority, --client-certificate and --client-key",
            id="tls-untrusted",
        ),
        pytest.param(
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:7443: Custom "
            "verification check failed with error: UNAUTHENTICATED: Hostname Verification Check "
            "failed.",
            f"TLS with the plane at {SERVER} failed (Hostname Verification Check failed); "
            "check --certificate-authority, --client-certificate and --client-key",
            id="tls-wrong-name",
        ),
        pytest.param(
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:7443: "
            "Socket closed",
            f"cannot reach the plane at {SERVER} (socket closed; if it serves TLS, pass "
            f"--certificate-authority); start one with `ctrlplane serve --listen {SERVER}`, or "
            "point dsctl elsewhere with --server or $DSCTL_SERVER",
            id="plain-to-tls",
        ),
        pytest.param(grpc.StatusCode.UNAVAILABLE, "the plane is still reading its log",
                     f"the plane at {SERVER} is unavailable: the plane is still reading its log",
                     id="plane-not-ready"),
        pytest.param(grpc.StatusCode.ABORTED, "generation is 3, expected 2",
                     "conflict: generation is 3, expected 2", id="aborted"),
        pytest.param(grpc.StatusCode.NOT_FOUND, 'daemonset "x" not found',
                     'daemonset "x" not found', id="not-found"),
        pytest.param(grpc.StatusCode.INVALID_ARGUMENT, "spec.selector: Required value\n  more",
                     "spec.selector: Required value more", id="one-line"),
        pytest.param(grpc.StatusCode.INTERNAL, "", "INTERNAL", id="no-details"),
    ],
)
def test_rpc_error_message(code: grpc.StatusCode, details: str, message: str) -> None:
    assert rpc_error_message(Failure(code, details), SERVER) == message
