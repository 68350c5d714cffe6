"""The one table from domain and event-log errors to gRPC status codes."""

from __future__ import annotations

import grpc
import pytest

from ctrlplane.api.auth import PermissionDenied
from ctrlplane.api.errors import status_of
from ctrlplane.domain.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    FieldError,
    InvalidSpec,
    NotFound,
)
from ctrlplane.eventlog.base import ConcurrencyError


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(
            InvalidSpec([FieldError("spec.x", "bad")]),
            grpc.StatusCode.INVALID_ARGUMENT,
            id="invalid-spec",
        ),
        pytest.param(NotFound("daemonset", "x"), grpc.StatusCode.NOT_FOUND, id="not-found"),
        pytest.param(AlreadyExists("node", "n"), grpc.StatusCode.ALREADY_EXISTS, id="exists"),
        pytest.param(Conflict("stale"), grpc.StatusCode.ABORTED, id="conflict"),
        pytest.param(ConcurrencyError("s", 1, 2), grpc.StatusCode.ABORTED, id="concurrency"),
        pytest.param(
            FailedPrecondition("mirror"), grpc.StatusCode.FAILED_PRECONDITION, id="precondition"
        ),
        pytest.param(TimeoutError(), grpc.StatusCode.DEADLINE_EXCEEDED, id="late-fold"),
        pytest.param(
            PermissionDenied("not yours"), grpc.StatusCode.PERMISSION_DENIED, id="not-yours"
        ),
        pytest.param(KeyError("bug"), None, id="a-bug-is-not-an-answer"),
    ],
)
def test_status_of(error: BaseException, code: grpc.StatusCode | None) -> None:
    assert status_of(error) == code

