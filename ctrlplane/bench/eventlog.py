"""Event-log benchmark: group-commit appends and read-back with decode, each
beside plain sqlite3 doing the same rows in the same run.

`python -m ctrlplane.bench eventlog --events=50000` (`--read-events=M`,
default 20 x events, `--appenders=100`, `--repeat=2` best of). Temp files only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.eventlog import NewEvent, SqliteEventStore
from ctrlplane.eventlog.codec import ROW_COLUMNS, decode_row_slow, payload_data

_INSERT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_NODES = 10_000  # streams in the read-back log


def _payload(node: str, n: int) -> events_pb2.Event:
    return events_pb2.Event(
        pod_status_reported=events_pb2.PodStatusReported(
            namespace="default",
            pod_name=f"fluentd-{node}-{n % 7}",
            node_name=node,
            phase="Running",
            ready=True,
            restart_count=n % 3,
        )
    )


def _rows(count: int, streams: int, start_time: float) -> Iterator[tuple[object, ...]]:
    """Table rows as the store writes them, seq i on stream i % streams."""
    versions = [0] * streams
    for i in range(count):
        s = i % streams
        versions[s] += 1
        node = f"node-{s}"
        type_name, data = payload_data(_payload(node, i))
        yield (
            i + 1,
            f"node/{node}",
            versions[s],
            type_name,
            data,
            start_time + i,
            f"agent:{node}",
            0,
        )


def _raw(path: Path) -> sqlite3.Connection:
    """Plain sqlite3 on a file the store created, with the store's pragmas."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


async def _empty_log(path: Path) -> None:
    store = await SqliteEventStore.open(path)
    await store.close()


def _best(repeat: int, run: Callable[[int], float]) -> float:
    return min(run(attempt) for attempt in range(repeat))


# ---- (a) append with group commit ------------------------------------------


async def _append_store(path: Path, events: int, appenders: int) -> tuple[float, int]:
    per = events // appenders
    batches = [
        [
            NewEvent(
                stream=f"node/node-{a}",
                payload=_payload(f"node-{a}", k),
                actor=f"agent:node-{a}",
                time=1e9 + k,
            )
            for k in range(per)
        ]
        for a in range(appenders)
    ]
    store = await SqliteEventStore.open(path)
    try:

        async def appender(mine: list[NewEvent]) -> None:
            stream = mine[0].stream
            for version, event in enumerate(mine):
                # One event a batch, with its exact expected version: the
                # worst case for a log (an agent reporting pod statuses).
                await store.append([event], {stream: version})

        started = time.perf_counter()
        await asyncio.gather(*(appender(mine) for mine in batches))
        elapsed = time.perf_counter() - started
        commits = store.commits
    finally:
        await store.close()
    return elapsed, commits


def _append_baseline(path: Path, events: int, appenders: int) -> float:
    rows = list(_rows(events, appenders, 1e9))
    with contextlib.closing(_raw(path)) as connection:
        started = time.perf_counter()
        connection.executemany(_INSERT, rows)
        connection.commit()
        return time.perf_counter() - started


def bench_append(directory: Path, events: int, appenders: int, repeat: int) -> None:
    events -= events % appenders
    commits = 0

    def store_run(attempt: int) -> float:
        nonlocal commits
        path = directory / f"append-store-{attempt}.db"
        elapsed, commits = asyncio.run(_append_store(path, events, appenders))
        return elapsed

    def baseline_run(attempt: int) -> float:
        path = directory / f"append-baseline-{attempt}.db"
        asyncio.run(_empty_log(path))
        return _append_baseline(path, events, appenders)

    baseline = _best(repeat, baseline_run)
    ours = _best(repeat, store_run)
    print(
        f"append: {appenders} concurrent appenders, {events:,} single-event batches "
        f"with expected versions"
    )
    print(
        f"  group commit (SqliteEventStore.append) {events / ours:>12,.0f} events/s"
        f"   ({commits:,} commits, {events / max(commits, 1):.1f} events/commit)"
    )
    print(f"  baseline: sqlite3 executemany, one txn {events / baseline:>12,.0f} events/s")
    ratio = baseline / ours
    verdict = "met" if ratio >= 0.5 else "NOT met"
    print(f"  ratio {ratio:.2f} of baseline (target >= 0.50: {verdict})")


# ---- (b) read-back with decode ---------------------------------------------


def _fill(path: Path, events: int) -> None:
    rows = _rows(events, _NODES, 1.7e9)
    with contextlib.closing(_raw(path)) as connection:
        while chunk := [row for _, row in zip(range(100_000), rows, strict=False)]:
            connection.executemany(_INSERT, chunk)
        connection.commit()


async def _read_store(path: Path, batch: int) -> tuple[float, int]:
    store = await SqliteEventStore.open(path, read_only=True)
    try:
        count = 0
        started = time.perf_counter()
        async for events in store.iterate(batch=batch):
            count += len(events)
        return time.perf_counter() - started, count
    finally:
        await store.close()


def _read_raw(path: Path, batch: int, decode: bool) -> tuple[float, int]:
    sql = f"SELECT {ROW_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        count = 0
        after = 0
        started = time.perf_counter()
        while rows := connection.execute(sql, (after, batch)).fetchall():
            if decode:
                for row in rows:
                    decode_row_slow(row)
            count += len(rows)
            after = rows[-1][0]
        return time.perf_counter() - started, count


def bench_read(directory: Path, events: int, repeat: int, batch: int = 10_000) -> None:
    path = directory / "read.db"
    asyncio.run(_empty_log(path))
    started = time.perf_counter()
    _fill(path, events)
    fill = time.perf_counter() - started

    def timed(run: Callable[[], tuple[float, int]]) -> Callable[[int], float]:
        def once(_attempt: int) -> float:
            elapsed, count = run()
            assert count == events, (count, events)
            return elapsed

        return once

    baseline = _best(repeat, timed(lambda: _read_raw(path, batch, decode=False)))
    naive = _best(repeat, timed(lambda: _read_raw(path, batch, decode=True)))
    ours = _best(repeat, timed(lambda: asyncio.run(_read_store(path, batch))))
    print(f"read-back: {events:,} events ({_NODES:,} streams; log filled in {fill:.1f} s)")
    print(f"  SqliteEventStore.iterate, decoded       {events / ours:>12,.0f} events/s")
    print(f"  baseline: sqlite3 fetch, no decode      {events / baseline:>12,.0f} events/s")
    print(f"  reference: sqlite3 fetch + naive decode {events / naive:>12,.0f} events/s")
    verdict = "met" if events / ours >= 200_000 else "NOT met"
    print(
        f"  ratio {baseline / ours:.2f} of baseline, {naive / ours:.2f}x naive decode "
        f"(target >= 200,000 events/s: {verdict})"
    )


def main(options: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench eventlog")
    parser.add_argument("--events", type=int, default=50_000, help="events appended")
    parser.add_argument("--read-events", type=int, help="events read back (20 x --events)")
    parser.add_argument("--appenders", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs")
    args, _others = parser.parse_known_args(options)  # other parts' options pass by
    read_events = args.read_events or 20 * args.events
    with tempfile.TemporaryDirectory(prefix="ctrlplane-bench-") as directory:
        bench_append(Path(directory), args.events, args.appenders, args.repeat)
        bench_read(Path(directory), read_events, args.repeat)
