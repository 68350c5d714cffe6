"""An in-memory event store with the SQLite store's semantics, for tests.

It shares the append rules (grouping.py) and the row decoding (codec.py) with
the SQLite store, so a test that passes here means the same there; it keeps
stored bytes, not objects, so a caller that mutates a read Event changes
nothing in the log. It must not grow features the other backends lack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.eventlog.base import ConcurrencyError, EventLogError, NewEvent
from ctrlplane.eventlog.codec import decode_rows
from ctrlplane.eventlog.grouping import plan_group, prepare
from ctrlplane.eventlog.signal import HeadSignal


class MemoryEventStore:
    def __init__(self) -> None:
        # Rows in codec.ROW_COLUMNS order; rows[i] has seq i + 1.
        self._rows: list[tuple[int, str, int, float, str, int, bytes]] = []
        self._versions: dict[str, int] = {}
        self._signal = HeadSignal()
        self._closed = False

    async def __aenter__(self) -> MemoryEventStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise EventLogError("event log memory: is closed")

    async def append(
        self, events: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> int:
        self._check_open()
        prepared = prepare(events, expected)
        # No await between the check and the write: the append is atomic.
        plan = plan_group(
            [(prepared, expected)], lambda stream: self._versions.get(stream, 0), self.head_now
        )
        (outcome,) = plan.outcomes
        if isinstance(outcome, ConcurrencyError):
            raise outcome
        self._rows.extend(
            (seq, stream, version, time, actor, cause_seq, data)
            for seq, stream, version, _type, data, time, actor, cause_seq in plan.rows
        )
        self._versions.update(plan.versions)
        if plan.rows:
            self._signal.advance(plan.head)
        return outcome

    @property
    def head_now(self) -> int:
        return len(self._rows)

    def _slice(self, after_seq: int, until_seq: int | None, limit: int | None) -> list[Any]:
        start = max(after_seq, 0)
        end = len(self._rows) if until_seq is None else max(min(until_seq, len(self._rows)), start)
        if limit is not None:
            end = min(end, start + max(limit, 0))
        return self._rows[start:end]

    async def read(
        self, after_seq: int = 0, *, limit: int | None = None, until_seq: int | None = None
    ) -> list[events_pb2.Event]:
        self._check_open()
        return decode_rows(self._slice(after_seq, until_seq, limit))

    async def iterate(
        self, after_seq: int = 0, *, until_seq: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[list[events_pb2.Event]]:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._check_open()
        while True:
            rows = self._slice(after_seq, until_seq, batch)
            if not rows:
                return
            yield decode_rows(rows)
            if len(rows) < batch:
                return
            after_seq = rows[-1][0]

    async def head(self) -> int:
        self._check_open()
        return self.head_now

    async def stream_version(self, stream: str) -> int:
        self._check_open()
        return self._versions.get(stream, 0)

    async def wait(self, after_seq: int, timeout: float | None = None) -> int:  # noqa: ASYNC109
        self._check_open()
        return await self._signal.wait(after_seq, timeout)

    async def close(self) -> None:
        self._closed = True
        self._signal.close()
