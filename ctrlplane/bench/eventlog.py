"""Event-log benchmark: group-commit appends and read-back with decode, each
beside plain sqlite3 doing the same rows in the same run.

`python -m ctrlplane.bench eventlog --events=50000` (`--read-events=M`,
default 20 x events, `--appenders=100`, `--repeat=2` best of). Temp files only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.eventlog import NewEvent, SqliteEventStore
from ctrlplane.eventlog.codec import ROW_COLUMNS, decode_row_slow, payload_data
from ctrlplane.eventlog.sqlite import WRITER_PRAGMAS

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
    for pragma in WRITER_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    return connection


async def _empty_log(path: Path) -> None:
    store = await SqliteEventStore.open(path)
    await store.close()


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall time, and this process's CPU time (all threads) over the same span.

    The CPU figure is steadier on a shared machine; both are printed."""

    wall: float
    cpu: float


class _Span:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def stop(self) -> Timing:
        return Timing(time.perf_counter() - self._wall, time.process_time() - self._cpu)


def _best(repeat: int, run: Callable[[int], Timing]) -> Timing:
    runs = [run(attempt) for attempt in range(repeat)]
    return Timing(min(r.wall for r in runs), min(r.cpu for r in runs))


def _line(label: str, count: int, timing: Timing, note: str = "") -> None:
    print(
        f"  {label:<40} {count / timing.wall:>10,.0f} events/s"
        f"  ({count / timing.cpu:>9,.0f} per CPU-s){note}"
    )


# ---- (a) append with group commit ------------------------------------------


async def _append_store(path: Path, events: int, appenders: int) -> tuple[Timing, int]:
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

        span = _Span()
        await asyncio.gather(*(appender(mine) for mine in batches))
        timing = span.stop()
        commits = store.commits
    finally:
        await store.close()
    return timing, commits


def _append_baseline(path: Path, events: int, appenders: int, group: int) -> Timing:
    """Plain sqlite3 writing the same rows, committing every `group` rows."""
    rows = list(_rows(events, appenders, 1e9))
    with contextlib.closing(_raw(path)) as connection:
        span = _Span()
        for start in range(0, len(rows), group):
            connection.executemany(_INSERT, rows[start : start + group])
            connection.commit()
        return span.stop()


def bench_append(directory: Path, events: int, appenders: int, repeat: int) -> None:
    events -= events % appenders
    commits = 0

    def store_run(attempt: int) -> Timing:
        nonlocal commits
        path = directory / f"append-store-{attempt}.db"
        timing, commits = asyncio.run(_append_store(path, events, appenders))
        return timing

    def baseline_run(group: int) -> Callable[[int], Timing]:
        def run(attempt: int) -> Timing:
            path = directory / f"append-baseline-{group}-{attempt}.db"
            asyncio.run(_empty_log(path))
            return _append_baseline(path, events, appenders, group)

        return run

    baseline = _best(repeat, baseline_run(events))
    floor = _best(repeat, baseline_run(appenders))
    ours = _best(repeat, store_run)
    print(
        f"append: {appenders} concurrent appenders, {events:,} single-event batches "
        "with expected versions"
    )
    _line(
        "group commit (SqliteEventStore.append)",
        events,
        ours,
        f"  {commits:,} commits, {events / max(commits, 1):.1f} events each",
    )
    _line("baseline: sqlite3 executemany, one txn", events, baseline)
    _line(f"floor: sqlite3, a commit every {appenders} rows", events, floor)
    ratio = baseline.wall / ours.wall
    verdict = "met" if ratio >= 0.5 else "NOT met"
    print(
        f"  ratio to baseline {ratio:.2f} (CPU {baseline.cpu / ours.cpu:.2f}; "
        f"target >= 0.50: {verdict}); to the floor {floor.wall / ours.wall:.2f} "
        f"(CPU {floor.cpu / ours.cpu:.2f})"
    )


# ---- (b) read-back with decode ---------------------------------------------


def _fill(path: Path, events: int) -> None:
    rows = _rows(events, _NODES, 1.7e9)
    with contextlib.closing(_raw(path)) as connection:
        while chunk := [row for _, row in zip(range(100_000), rows, strict=False)]:
            connection.executemany(_INSERT, chunk)
        connection.commit()


async def _read_store(path: Path, batch: int) -> tuple[Timing, int]:
    store = await SqliteEventStore.open(path, read_only=True)
    try:
        count = 0
        span = _Span()
        async for events in store.iterate(batch=batch):
            count += len(events)
        return span.stop(), count
    finally:
        await store.close()


def _read_raw(path: Path, batch: int, decode: bool) -> tuple[Timing, int]:
    sql = f"SELECT {ROW_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        count = 0
        after = 0
        span = _Span()
        while rows := connection.execute(sql, (after, batch)).fetchall():
            if decode:  # a list per batch, as a store returns it
                count += len([decode_row_slow(row) for row in rows])
            else:
                count += len(rows)
            after = rows[-1][0]
        return span.stop(), count


def bench_read(directory: Path, events: int, repeat: int, batch: int = 10_000) -> None:
    path = directory / "read.db"
    asyncio.run(_empty_log(path))
    span = _Span()
    _fill(path, events)
    fill = span.stop().wall

    def checked(run: Callable[[], tuple[Timing, int]]) -> Callable[[int], Timing]:
        def once(_attempt: int) -> Timing:
            timing, count = run()
            assert count == events, (count, events)
            return timing

        return once

    baseline = _best(repeat, checked(lambda: _read_raw(path, batch, decode=False)))
    naive = _best(repeat, checked(lambda: _read_raw(path, batch, decode=True)))
    ours = _best(repeat, checked(lambda: asyncio.run(_read_store(path, batch))))
    print(f"read-back: {events:,} events ({_NODES:,} streams; log filled in {fill:.1f} s)")
    _line("SqliteEventStore.iterate, decoded", events, ours)
    _line("baseline: sqlite3 fetch, no decode", events, baseline)
    _line("reference: sqlite3 fetch + naive decode", events, naive)
    rate = events / ours.wall
    verdict = "met" if rate >= 200_000 else "NOT met"
    print(
        f"  ratio to baseline {baseline.wall / ours.wall:.2f} (CPU {baseline.cpu / ours.cpu:.2f}); "
        f"{naive.wall / ours.wall:.2f}x naive decode (CPU {naive.cpu / ours.cpu:.2f}x); "
        f"target >= 200,000 events/s: {verdict}"
    )


def main(options: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench eventlog")
    parser.add_argument("--events", type=int, default=50_000, help="events appended")
    parser.add_argument("--read-events", type=int, help="events read back (20 x --events)")
    parser.add_argument("--appenders", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs")
    args, _others = parser.parse_known_args(options)  # other parts' options pass by
    read_events = args.read_events or 20 * args.events
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"  (note: load average {os.getloadavg()[0]:.1f}; wall-clock figures are noisy)")
    with tempfile.TemporaryDirectory(prefix="ctrlplane-bench-") as directory:
        bench_append(Path(directory), args.events, args.appenders, args.repeat)
        bench_read(Path(directory), read_events, args.repeat)
