"""The one table from domain and event-log errors to gRPC status codes.

Every servicer method is wrapped in `@rpc`, which waits for the plane's
initial fold and turns a known error into `context.abort(code, message)`.
Unknown exceptions are left to grpc (UNKNOWN): they are bugs, not answers.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import grpc

from ctrlplane.api.auth import PermissionDenied
from ctrlplane.api.context import PlaneContext
from ctrlplane.domain.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidSpec,
    NotFound,
)
from ctrlplane.eventlog.base import ConcurrencyError

# Order matters only for subclasses; the first match wins.
STATUS_OF: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (InvalidSpec, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (Conflict, grpc.StatusCode.ABORTED),
    (ConcurrencyError, grpc.StatusCode.ABORTED),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    # The feed did not fold our own write in time: the write happened, the
    # answer is late; the client may read again.
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
)

# How often a write is decided again after a ConcurrencyError before ABORTED.
CONFLICT_ATTEMPTS = 5

# How long a request waits for the initial fold of the log before UNAVAILABLE.
READY_TIMEOUT = 30.0


def status_of(error: BaseException) -> grpc.StatusCode | None:
    for kind, code in STATUS_OF:
        if isinstance(error, kind):
            return code
    return None


class HasContext(Protocol):
    ctx: PlaneContext


async def _ready(servicer: HasContext, context: grpc.aio.ServicerContext) -> None:
    ready = servicer.ctx.feed.ready
    if ready.is_set():
        return
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await ready.wait()
    except TimeoutError:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "the plane is still reading its log")


async def _abort(context: grpc.aio.ServicerContext, error: Exception) -> None:
    code = status_of(error)
    if code is None:
        raise error
    await context.abort(code, str(error))


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a unary or server-streaming servicer method with the error table."""
    if inspect.isasyncgenfunction(method):
        stream_method: Callable[..., AsyncIterator[Any]] = method

        @functools.wraps(method)
        async def streaming(
            self: HasContext, request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            await _ready(self, context)
            try:
                async for item in stream_method(self, request, context):
                    yield item
            except Exception as error:  # mapped to a status, or re-raised
                await _abort(context, error)

        return streaming

    unary_method: Callable[..., Awaitable[Any]] = method

    @functools.wraps(method)
    async def unary(self: HasContext, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await _ready(self, context)
        attempt = 1
        while True:
            try:
                return await unary_method(self, request, context)
            except ConcurrencyError as error:
                # The stream moved under us, usually by the controller's own
                # decisions on a daemon set's stream, not by another user (a
                # user's stale view is caught by expected_generation). Each
                # method decides from the state it reads, so deciding again
                # from a fresher state is safe.
                if attempt < CONFLICT_ATTEMPTS:
                    attempt += 1
                    continue
                await _abort(context, error)
                raise  # unreachable: abort raises
            except Exception as error:  # mapped to a status, or re-raised
                await _abort(context, error)
                raise  # unreachable: abort raises

    return unary
