"""The SQLite event store (the embedded default), over aiosqlite.

Owns the write path (one writer task, group commit, gapless seq, expected
versions checked against cached stream versions) and reads; the file's schema,
pragmas and one-writer lock are in sqlite_file.py. It must not interpret
events beyond naming their type. One process writes a file (a lock enforces
it); read-only openers, e.g. `dsctl replay` on a live plane's log, are fine.

Durability: WAL with `synchronous=NORMAL`. When `append` returns, its commit
is in the WAL file (in the OS page cache), so a killed plane process loses
nothing it acknowledged (tests/eventlog/test_crash.py SIGKILLs one). Only a
power cut or kernel crash can lose the last commits since a checkpoint, and
even then the file is not corrupted. `FULL` would add an fsync to every
commit: the plane's write rate would then be the disk's flush rate (~4k
commits/s measured here), while what it must survive in practice is its own
process dying. The cost, said plainly: an apply acknowledged just before a
power cut may be gone after it (agents re-report their pods either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiosqlite

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.eventlog.base import ANY_VERSION, ConcurrencyError, EventLogError, NewEvent
from ctrlplane.eventlog.codec import ROW_COLUMNS, decode_rows
from ctrlplane.eventlog.grouping import Prepared, plan_group, prepare
from ctrlplane.eventlog.signal import HeadSignal
from ctrlplane.eventlog.sqlite_file import (
    SCHEMA_VERSION,
    WRITER_PRAGMAS,
    check_schema,
    lock_for_writing,
)

_INSERT = (
    "INSERT INTO events (seq, stream, version, type, data, time, actor, cause_seq)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = f"SELECT {ROW_COLUMNS} FROM events WHERE seq > ?"
# SQLite's default limit of host parameters is 32766 since 3.32; stay well below.
_IN_CHUNK = 500
# How often a read-only store looks at the file for new events in `wait`.
_POLL_INTERVAL = 0.05

_Pending = tuple[list[Prepared], Mapping[str, int] | None, "asyncio.Future[int]"]


class SqliteEventStore:
    """Open with `await SqliteEventStore.open(path)`; close with `await store.close()`
    (or use `async with`). `read_only=True` never writes, and sees the appends
    of another process by polling in `wait`."""

    def __init__(
        self,
        path: str,
        reader: aiosqlite.Connection,
        writer: aiosqlite.Connection | None,
        head: int,
    ) -> None:
        self.path = path
        self.read_only = writer is None
        self._reader = reader
        self._writer = writer
        self._signal = HeadSignal(head)
        # The committed version of each stream the writer has seen; loaded
        # lazily, dropped after a failed commit.
        self._versions: dict[str, int] = {}
        self._stale = False
        self.commits = 0  # transactions written, for benchmarks and diagnostics
        self._pending: list[_Pending] = []
        self._work = asyncio.Event()
        self._closing = False
        self._writer_task: asyncio.Task[None] | None = None
        self._writer_lock: int | None = None  # see sqlite_file.lock_for_writing
        self._loop = asyncio.get_running_loop()
        if writer is not None:
            self._writer_task = self._loop.create_task(
                self._run_writer(), name=f"eventlog-writer {path}"
            )

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, read_only: bool = False
    ) -> SqliteEventStore:
        path = os.fspath(path)
        connections: list[aiosqlite.Connection] = []
        writer_lock: int | None = None
        try:
            if read_only:
                # One stat at open time; SQLite's own error would not name the file.
                if not os.path.exists(path):  # noqa: ASYNC240
                    raise EventLogError(f"{path}: no such event log")
                absolute = os.path.abspath(path)  # noqa: ASYNC240
                uri = f"file:{urllib.parse.quote(absolute)}?mode=ro"
                reader = await aiosqlite.connect(uri, uri=True)
                connections.append(reader)
                await check_schema(reader, path, create=False)
                writer = None
            else:
                writer = await aiosqlite.connect(path)
                connections.append(writer)
                await writer.execute("PRAGMA busy_timeout=5000")
                # Schema first: a file we refuse must be left as it was.
                await check_schema(writer, path, create=True)
                writer_lock = lock_for_writing(path)
                for pragma in WRITER_PRAGMAS:
                    await writer.execute(f"PRAGMA {pragma}")
                # A second connection so that reads never see the writer's
                # uncommitted group, and run beside it (WAL allows that).
                reader = await aiosqlite.connect(path)
                connections.append(reader)
                await reader.execute("PRAGMA query_only=ON")
            await reader.execute("PRAGMA busy_timeout=5000")
            # Stream and actor as bytes: the decoder wants bytes, and skipping
            # UTF-8 decoding of two columns per row is measurable on big reads.
            reader.text_factory = bytes
            head = await _head(reader)
        except BaseException as error:
            for connection in connections:
                with contextlib.suppress(Exception):
                    await connection.close()
            if writer_lock is not None:
                os.close(writer_lock)
            if isinstance(error, sqlite3.Error):
                raise EventLogError(f"cannot open event log {path}: {error}") from error
            raise
        store = cls(path, reader, writer, head)
        store._writer_lock = writer_lock
        return store

    async def __aenter__(self) -> SqliteEventStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closing:
            raise EventLogError(f"event log {self.path} is closed")

    # ---- writing -----------------------------------------------------------

    async def append(
        self, events: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> int:
        """See EventStore.append. Cancelling a caller whose batch is already in
        the group being committed does not un-append it."""
        if self._writer is None:
            raise EventLogError(f"{self.path} is open read-only")
        self._check_open()
        if self._writer_task is None or self._writer_task.done():
            # Nobody would ever answer the future.
            raise EventLogError(f"event log {self.path}: the writer has stopped")
        prepared = prepare(events, expected)
        future: asyncio.Future[int] = self._loop.create_future()
        self._pending.append((prepared, expected, future))
        self._work.set()
        return await future

    async def _run_writer(self) -> None:
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    await self._work.wait()
                    self._work.clear()
                    continue
                # Everything that queued up while the last commit ran goes
                # into this one transaction: that is the group commit.
                group, self._pending = self._pending, []
                await self._commit(group)
        finally:
            # Closed, or the writer died: no queued append may wait forever.
            failure = EventLogError(f"event log {self.path} is closed or its writer stopped")
            for _, _, future in self._pending:
                if not future.done():
                    future.set_exception(failure)
            self._pending = []

    async def _commit(self, group: list[_Pending]) -> None:
        assert self._writer is not None
        # Batches whose callers gave up before we took them are not written.
        group = [item for item in group if not item[2].done()]
        try:
            if self._stale:
                self._versions.clear()
                self._signal.advance(await _head(self._writer))
                self._stale = False
            await self._load_versions(group)
            plan = plan_group(
                ((prepared, expected) for prepared, expected, _ in group),
                self._versions.__getitem__,
                self._signal.head,
            )
            if plan.rows:
                try:
                    await self._writer.executemany(_INSERT, plan.rows)
                    await self._writer.commit()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await self._writer.rollback()
                    raise
        except BaseException as error:  # the whole group failed; nothing of it is written
            self._stale = True
            for _, _, future in group:
                if not future.done():
                    future.set_exception(EventLogError(f"append to {self.path} failed: {error!r}"))
            if not isinstance(error, Exception):
                raise  # cancelled: the callers have their answer, now stop
            return
        self._versions.update(plan.versions)
        if plan.rows:
            self.commits += 1
        for (_, _, future), outcome in zip(group, plan.outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, ConcurrencyError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if plan.rows:
            self._signal.advance(plan.head)

    async def _load_versions(self, group: list[_Pending]) -> None:
        assert self._writer is not None
        known = self._versions
        unknown: set[str] = set()
        for prepared, expected, _ in group:
            for event in prepared:
                if event[0] not in known:
                    unknown.add(event[0])
            if expected:
                for stream, version in expected.items():
                    if version != ANY_VERSION and stream not in known:
                        unknown.add(stream)
        if not unknown:
            return
        names = list(unknown)
        for start in range(0, len(names), _IN_CHUNK):
            chunk = names[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self._writer.execute_fetchall(
                f"SELECT stream, MAX(version) FROM events WHERE stream IN ({marks})"
                " GROUP BY stream",
                chunk,
            )
            for stream, version in rows:
                self._versions[stream] = version
        for stream in names:
            self._versions.setdefault(stream, 0)

    # ---- reading -----------------------------------------------------------

    async def _fetch(self, after_seq: int, until_seq: int | None, limit: int | None) -> list[Any]:
        self._check_open()
        sql = _SELECT
        params: list[int] = [after_seq]
        if until_seq is not None:
            sql += " AND seq <= ?"
            params.append(until_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.Error as error:
            raise EventLogError(f"cannot read {self.path}: {error}") from error

    async def read(
        self, after_seq: int = 0, *, limit: int | None = None, until_seq: int | None = None
    ) -> list[events_pb2.Event]:
        return decode_rows(await self._fetch(after_seq, until_seq, limit))

    async def iterate(
        self, after_seq: int = 0, *, until_seq: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[list[events_pb2.Event]]:
        """Batches until caught up with the head (or `until_seq`).

        Each batch is its own short read, so a long fold never holds a read
        transaction open (which would stop WAL checkpoints). No read-ahead on
        purpose: fetching the next batch on the connection's thread while this
        one decodes made both fight for the GIL and cost ~35 % more CPU
        (measured here).
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        while True:
            rows = await self._fetch(after_seq, until_seq, batch)
            if rows:
                yield decode_rows(rows)
            if len(rows) < batch:
                return
            after_seq = rows[-1][0]

    async def head(self) -> int:
        self._check_open()
        if self._writer is None:
            return await _head(self._reader)
        return self._signal.head

    async def stream_version(self, stream: str) -> int:
        self._check_open()
        known = self._versions.get(stream)
        if known is not None and not self._stale:
            return known
        # Not cached: ask the file, but do not cache the answer here; only the
        # writer may fill its cache, or a commit racing this read could be lost.
        rows = list(
            await self._reader.execute_fetchall(
                "SELECT MAX(version) FROM events WHERE stream = ?", (stream,)
            )
        )
        version = rows[0][0] if rows else None
        return int(version or 0)

    async def wait(self, after_seq: int, timeout: float | None = None) -> int:  # noqa: ASYNC109
        self._check_open()
        if self._writer is not None:
            return await self._signal.wait(after_seq, timeout)
        # Another process writes: nothing tells us, so look now and then.
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        head = await _head(self._reader)
        while head <= after_seq:
            delay = _POLL_INTERVAL
            if deadline is not None:
                delay = min(delay, deadline - loop.time())
                if delay <= 0:
                    break
            await asyncio.sleep(delay)
            if self._closing:
                break
            head = await _head(self._reader)
        return head

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._work.set()
        task = self._writer_task
        try:
            if task is not None:
                # Let the writer commit what is queued: callers were promised an answer.
                try:
                    await asyncio.shield(task)
                except (Exception, asyncio.CancelledError):
                    if not task.done():
                        raise  # close() itself was cancelled
                    # The writer had died (its callers were answered): still close.
        finally:
            self._signal.close()
            for connection in (self._writer, self._reader):
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()
            if self._writer_lock is not None:
                os.close(self._writer_lock)
                self._writer_lock = None


async def _head(connection: aiosqlite.Connection) -> int:
    rows = list(await connection.execute_fetchall("SELECT MAX(seq) FROM events"))
    return int(rows[0][0] or 0)


__all__ = ["SCHEMA_VERSION", "WRITER_PRAGMAS", "SqliteEventStore"]
