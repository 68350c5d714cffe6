"""What only the SQLite store does: files, schema versions, read-only opening,
another writer on the same file, and `open_store`."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from ctrlplane.eventlog import (
    ConcurrencyError,
    EventLogError,
    MemoryEventStore,
    SqliteEventStore,
    open_store,
)
from ctrlplane.eventlog.sqlite import SCHEMA_VERSION

from .test_contract import labels


async def test_reopen_and_continue(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with await SqliteEventStore.open(path) as store:
        await store.append([labels("node/a", 1), labels("node/a", 2), labels("node/b", 1)])
    async with await SqliteEventStore.open(path) as store:
        assert await store.head() == 3
        assert await store.stream_version("node/a") == 2
        with pytest.raises(ConcurrencyError):
            await store.append([labels("node/a", 3)], {"node/a": 1})
        assert await store.append([labels("node/a", 3)], {"node/a": 2}) == 4
        assert [(e.seq, e.version) for e in await store.read(2)] == [(3, 1), (4, 3)]
    with closing(sqlite3.connect(path)) as raw, raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT DISTINCT type FROM events").fetchall() == [
            ("NodeLabelsChanged",)
        ]


async def test_read_only_beside_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with await SqliteEventStore.open(path) as writer:
        await writer.append([labels("node/a", 1)])
        async with await SqliteEventStore.open(path, read_only=True) as reader:
            assert await reader.head() == 1
            assert [e.stream for e in await reader.read()] == ["node/a"]
            with pytest.raises(EventLogError, match="read-only"):
                await reader.append([labels("node/a", 2)])
            waiter = asyncio.create_task(reader.wait(1, timeout=30))
            await writer.append([labels("node/a", 2)])
            assert await waiter == 2
            assert await reader.stream_version("node/a") == 2
            assert await reader.wait(2, timeout=0.01) == 2


async def test_read_only_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EventLogError, match="no such event log"):
        await SqliteEventStore.open(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def _future_schema(path: Path) -> None:
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY)")
        raw.execute("PRAGMA user_version = 99")


def _other_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("CREATE TABLE invoices (id INTEGER)")


def _not_sqlite(path: Path) -> None:
    path.write_text("fluentd logs, not a database\n" * 100)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(_future_schema, "schema version 99", id="unknown-schema-version"),
        pytest.param(_other_database, "not a ctrlplane event log", id="another-database"),
        pytest.param(_not_sqlite, "cannot open event log", id="not-sqlite"),
    ],
)
@pytest.mark.parametrize("read_only", [pytest.param(False, id="rw"), pytest.param(True, id="ro")])
async def test_refuses_a_file_it_does_not_understand(
    tmp_path: Path, make: object, message: str, read_only: bool
) -> None:
    path = tmp_path / "events.db"
    assert callable(make)
    make(path)
    before = path.read_bytes()
    with pytest.raises(EventLogError, match=message):
        await SqliteEventStore.open(path, read_only=read_only)
    assert path.read_bytes() == before
    assert _names(tmp_path) == ["events.db"]


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_one_writer_per_file(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with await SqliteEventStore.open(path) as store:
        await store.append([labels("node/a")])
        with pytest.raises(EventLogError, match="already open for writing"):
            await SqliteEventStore.open(path)
        async with await SqliteEventStore.open(path, read_only=True) as reader:
            assert await reader.head() == 1
    async with await SqliteEventStore.open(path) as store:  # free again after close
        assert await store.append([labels("node/a")]) == 2


async def test_another_writer_fails_one_group_then_the_store_recovers(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with await SqliteEventStore.open(path) as store:
        await store.append([labels("node/a", 1)])
        # Someone else writes the file behind the store's back (not supported,
        # but it must not corrupt the log): seq 2 is taken.
        with closing(sqlite3.connect(path)) as raw, raw:
            raw.execute(
                "INSERT INTO events VALUES (2, 'node/a', 2, 'NodeLabelsChanged', ?, 1.0, 'x', 0)",
                (labels("node/a").payload.SerializeToString(),),
            )
        with pytest.raises(EventLogError, match="failed"):
            await store.append([labels("node/b", 1)])
        # The failed commit dropped the caches: the head and versions are re-read.
        with pytest.raises(ConcurrencyError):
            await store.append([labels("node/a", 3)], {"node/a": 1})
        assert await store.append([labels("node/a", 3)], {"node/a": 2}) == 3
        assert [(e.seq, e.stream, e.version) for e in await store.read()] == [
            (1, "node/a", 1),
            (2, "node/a", 2),
            (3, "node/a", 3),
        ]


async def test_close_answers_every_queued_append(tmp_path: Path) -> None:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    appends = [asyncio.create_task(store.append([labels(f"node/n{i}")])) for i in range(20)]
    await asyncio.sleep(0)  # the appends are queued; close must still commit them
    await store.close()
    assert sorted(await asyncio.gather(*appends)) == list(range(1, 21))
    async with await SqliteEventStore.open(tmp_path / "events.db", read_only=True) as reader:
        assert await reader.head() == 20


async def test_a_dead_writer_fails_appends_and_close_still_releases_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    store = await SqliteEventStore.open(path)
    await store.append([labels("node/a")])
    # The writer task dies (cancelled from outside: the worst way to end).
    writer = store._writer_task
    assert writer is not None
    writer.cancel()
    await asyncio.wait([writer])
    with pytest.raises(EventLogError, match="writer has stopped"):
        await store.append([labels("node/a")])
    await store.close()
    async with await SqliteEventStore.open(path) as again:  # the lock is free
        assert await again.append([labels("node/a")]) == 2


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        pytest.param("memory:", MemoryEventStore, id="memory"),
        pytest.param("sqlite:///{tmp}/a.db", SqliteEventStore, id="sqlite-url"),
        pytest.param("{tmp}/b.db", SqliteEventStore, id="path"),
    ],
)
async def test_open_store(tmp_path: Path, url: str, kind: type) -> None:
    store = await open_store(url.format(tmp=tmp_path))
    try:
        assert isinstance(store, kind)
        assert await store.append([labels("node/a")]) == 1
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "read_only"),
    [
        pytest.param("postgres://db/ctrlplane", False, id="unknown-scheme"),
        pytest.param("sqlite://host/x.db", False, id="sqlite-with-host"),
        pytest.param("memory:", True, id="read-only-memory"),
    ],
)
async def test_open_store_refuses(url: str, read_only: bool) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the url
        await open_store(url, read_only=read_only)


async def test_open_store_read_only(tmp_path: Path) -> None:
    async with await SqliteEventStore.open(tmp_path / "a.db") as writer:
        await writer.append([labels("node/a")])
    store = await open_store(f"sqlite://{tmp_path}/a.db", read_only=True)
    try:
        assert await store.head() == 1
    finally:
        await store.close()


async def test_closing_a_read_only_store_releases_a_polling_waiter(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with await SqliteEventStore.open(path) as writer:
        await writer.append([labels("node/a")])
    reader = await SqliteEventStore.open(path, read_only=True)
    waiter = asyncio.create_task(reader.wait(1))
    await asyncio.sleep(0)  # let it start polling
    await reader.close()
    assert await waiter == 1
