"""The EventStore protocol every backend implements, and its one error family.

A store owns ordering and durability only: a global gapless `seq`, a
per-stream `version` for optimistic concurrency, and waking readers when the
head moves. It knows nothing of what events mean.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ctrlplane._proto.v1 import events_pb2

# Expected-version sentinels for `append`.
ANY_VERSION = -1  # no check
NO_STREAM = 0  # the stream must not exist yet


class EventLogError(Exception):
    """Base of every error a store raises; driver errors are translated to it."""


class ConcurrencyError(EventLogError):
    """A stream moved on since the caller read it: re-read and decide again."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream!r} is at version {actual}, expected {expected}: "
            "someone else changed it first"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: its payload (an Event with only `kind` set) and who/when."""

    stream: str
    payload: events_pb2.Event
    actor: str
    time: float
    cause_seq: int = 0


class EventStore(Protocol):
    """The log as every part of the plane sees it. Backends: SqliteEventStore
    (the default), MemoryEventStore (tests); `open_store(path_or_url)` picks
    one. All pass tests/eventlog/test_contract.py."""

    async def append(
        self, events: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> int:
        """Append atomically; return the seq of the last event appended.

        `expected` maps a stream to the version it must be at (NO_STREAM: must
        not exist; ANY_VERSION: no check); any mismatch raises
        ConcurrencyError and appends nothing. Concurrent calls are committed
        together (group commit), each one still all-or-nothing. `expected`
        may name streams the batch does not write to (a guard). An empty
        batch only checks `expected` and returns the head.

        Envelope fields set on a payload are ignored (the log fills them).
        A malformed batch (no `kind`, empty stream, negative version or
        cause_seq) raises ValueError; a storage failure EventLogError. If the
        caller is cancelled after its batch went into a commit, the events
        are appended anyway: re-read before retrying.
        """
        ...

    async def read(
        self, after_seq: int = 0, *, limit: int | None = None, until_seq: int | None = None
    ) -> list[events_pb2.Event]:
        """Events with after_seq < seq (<= until_seq), oldest first, envelope filled.

        Every call returns fresh objects: mutating them never changes the log.
        """
        ...

    def iterate(
        self, after_seq: int = 0, *, until_seq: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[list[events_pb2.Event]]:
        """Read everything after `after_seq` in batches (for folds of big logs),
        until caught up with the head or `until_seq`; empty batches are never yielded."""
        ...

    async def head(self) -> int:
        """The seq of the newest event, 0 for an empty log."""
        ...

    async def stream_version(self, stream: str) -> int:
        """The version of `stream`, 0 if it has no events."""
        ...

    # `timeout` is part of the contract (readers poll with it), hence the noqa.
    async def wait(self, after_seq: int, timeout: float | None = None) -> int:  # noqa: ASYNC109
        """Wait until the head passes `after_seq` (or timeout); return the head.

        Returns at once if it already has; a wait in progress returns when the
        store is closed. Events up to the returned head are readable when it
        returns. Every method but close raises EventLogError on a closed store.
        """
        ...

    async def close(self) -> None:
        """Finish queued appends, release waiters, close files. Idempotent."""
        ...
