"""Snapshots are only an optimisation: snapshot + tail equals a full fold, and a
snapshot that does not belong (other code, other log, damaged) is ignored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support import wait_until

from ctrlplane.domain.state import ClusterState, fold
from ctrlplane.eventlog.base import NewEvent
from ctrlplane.eventlog.sqlite import SqliteEventStore
from ctrlplane.replay import snapshots
from ctrlplane.replay.snapshots import (
    list_snapshots,
    load_snapshot,
    load_state,
    snapshot_dir,
    write_snapshot,
)
from replay.scenarios import rollout_log


async def append_all(store: SqliteEventStore, events: list) -> None:  # type: ignore[type-arg]
    await store.append([NewEvent(e.stream, e, e.actor, e.time, e.cause_seq) for e in events])


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[Path, SqliteEventStore]]:
    path = tmp_path / "events.db"
    store = await SqliteEventStore.open(path)
    try:
        yield path, store
    finally:
        await store.close()


async def test_snapshot_plus_tail_equals_full_fold(
    db: tuple[Path, SqliteEventStore],
) -> None:
    path, store = db
    events = rollout_log().events
    half = len(events) // 2
    await append_all(store, events[:half])
    head_state = await load_state(store, path)
    written = await write_snapshot(store, path, head_state)
    assert written.parent == snapshot_dir(path)
    await append_all(store, events[half:])

    from_snapshot = await load_snapshot(store, path)
    assert from_snapshot is not None
    assert from_snapshot.seq == half
    assert await load_state(store, path) == fold(events)
    # ... and the state from a snapshot keeps working like a folded one.
    assert from_snapshot.daemon_sets[("default", "fluentd")].compiled() is not None


async def test_a_snapshot_from_other_code_is_ignored(
    db: tuple[Path, SqliteEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, store = db
    events = rollout_log().events
    await append_all(store, events)
    await write_snapshot(store, path, fold(events))
    monkeypatch.setattr(snapshots, "fingerprint", lambda: "other-code")
    assert await load_snapshot(store, path) is None
    assert await load_state(store, path) == fold(events)


async def test_a_snapshot_of_another_log_is_ignored(tmp_path: Path) -> None:
    events = rollout_log().events
    path = tmp_path / "events.db"
    store = await SqliteEventStore.open(path)
    await append_all(store, events)
    await write_snapshot(store, path, fold(events))
    await store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
    # The same path, a different history of the same length.
    other = rollout_log()
    for e in other.events:
        e.time += 5.0
    store = await SqliteEventStore.open(path)
    try:
        await append_all(store, other.events)
        assert list_snapshots(path)
        assert await load_snapshot(store, path) is None
        assert await load_state(store, path) == fold(other.events)
    finally:
        await store.close()


async def test_a_damaged_snapshot_is_ignored(db: tuple[Path, SqliteEventStore]) -> None:
    path, store = db
    events = rollout_log().events
    await append_all(store, events[:10])
    await write_snapshot(store, path, fold(events[:5]))
    good = await write_snapshot(store, path, fold(events[:10]))
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])  # a valid header, a broken body
    loaded = await load_snapshot(store, path)
    assert loaded is not None
    assert loaded.seq == 5  # the older, intact one
    assert await load_state(store, path) == fold(events[:10])


async def test_a_snapshot_past_the_head_is_ignored(db: tuple[Path, SqliteEventStore]) -> None:
    """A snapshot of a longer log than the file holds (the file was restored from a backup)."""
    path, store = db
    events = rollout_log().events
    await append_all(store, events[:10])
    await write_snapshot(store, path, fold(events))
    assert list_snapshots(path)[0].seq == len(events)
    assert await load_snapshot(store, path) is None
    assert await load_state(store, path) == fold(events[:10])


async def test_old_snapshots_are_pruned(db: tuple[Path, SqliteEventStore]) -> None:
    path, store = db
    events = rollout_log().events
    for n in (5, 10, 15, 20):
        await append_all(store, events[n - 5 : n])
        await write_snapshot(store, path, fold(events[:n]), keep=2)
    assert [i.seq for i in list_snapshots(path)] == [20, 15]
    assert not any(p.suffix == ".tmp" for p in snapshot_dir(path).iterdir())


async def test_empty_log_and_no_path(db: tuple[Path, SqliteEventStore]) -> None:
    path, store = db
    assert await load_state(store, None) == ClusterState()
    assert await load_state(store, path) == ClusterState()
    assert not snapshot_dir(path).exists()


async def test_a_feed_started_from_a_snapshot_and_the_snapshot_task(
    db: tuple[Path, SqliteEventStore],
) -> None:
    """How a plane uses this: StateFeed(store, await load_snapshot(...)) + SnapshotTask."""
    import asyncio

    from ctrlplane.controller.feed import StateFeed
    from ctrlplane.replay.snapshots import SnapshotTask

    path, store = db
    events = rollout_log().events
    await append_all(store, events[:12])
    await write_snapshot(store, path, fold(events[:12]))
    feed = StateFeed(store, await load_snapshot(store, path))
    task = SnapshotTask(feed, path, every=5)
    async with asyncio.TaskGroup() as tg:
        running = [tg.create_task(feed.run()), tg.create_task(task.run())]
        await feed.ready.wait()
        assert feed.state == fold(events[:12])
        await append_all(store, events[12:])
        await feed.wait_for_seq(len(events), timeout=10)
        assert feed.state == fold(events)
        # The write ends after the last fold, so poll rather than wait on the feed.
        await wait_until(lambda: task.last_seq == len(events), timeout=10)
        await task.write_now()  # a plane's graceful stop: nothing new, nothing written
        for t in running:
            t.cancel()
    assert list_snapshots(path)[0].seq == len(events)
    assert await load_state(store, path) == fold(events)


async def test_the_snapshotter_process_writes_a_snapshot(
    db: tuple[Path, SqliteEventStore],
) -> None:
    import asyncio
    import sys

    path, store = db
    events = rollout_log().events
    await append_all(store, events)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctrlplane.replay.snapshotter", str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    assert out.decode() == f"snapshot at seq {len(events)} beside {path}\n"
    loaded = await load_snapshot(store, path)
    assert loaded == fold(events)


async def test_the_snapshotter_follows_the_log(db: tuple[Path, SqliteEventStore]) -> None:
    import asyncio

    from ctrlplane.replay.snapshotter import follow

    path, store = db
    events = rollout_log().events
    await append_all(store, events[:3])
    task = asyncio.create_task(follow(str(path), every=5))
    try:
        await append_all(store, events[3:])
        await wait_until(lambda: bool(list_snapshots(path))
                         and list_snapshots(path)[0].seq >= len(events) - 4, timeout=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    newest = await load_snapshot(store, path)
    assert newest is not None
    assert newest == fold(events[: newest.seq])


async def other_code_snapshot(
    store: SqliteEventStore, path: Path, state: ClusterState, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A snapshot of `state` beside `path`, as written by other code (and not pruned by it)."""
    with monkeypatch.context() as patch:
        patch.setattr(snapshots, "fingerprint", lambda: "other-code")
        made = await write_snapshot(store, path.with_name("elsewhere.db"), state)
    target = snapshot_dir(path) / made.name
    target.parent.mkdir(exist_ok=True)
    made.replace(target)
    return target


async def test_a_write_prunes_foreign_snapshots_but_never_itself(
    db: tuple[Path, SqliteEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files of other code go; newer ones of another log cannot push out the new one."""
    path, store = db
    events = rollout_log().events
    await append_all(store, events)
    # This code's, but past this log's head: of a longer log the file replaced.
    longer = fold(events)
    for extra in (1, 2):
        longer.seq = len(events) + extra
        await write_snapshot(store, path, longer, keep=5)
    await other_code_snapshot(store, path, fold(events[:3]), monkeypatch)
    assert len(list_snapshots(path)) == 3
    written = await write_snapshot(store, path, fold(events[:5]), keep=2)
    assert [i.seq for i in list_snapshots(path)] == [len(events) + 2, 5]
    assert written.exists()
    loaded = await load_snapshot(store, path)
    assert loaded is not None
    assert loaded.seq == 5


async def test_the_snapshot_task_counts_from_the_loaded_snapshot_not_the_newest_file(
    db: tuple[Path, SqliteEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer snapshot of other code is ignored at load; it must not stop the next write."""
    from ctrlplane.controller.feed import StateFeed
    from ctrlplane.replay.snapshots import SnapshotTask

    path, store = db
    events = rollout_log().events
    await append_all(store, events)
    await write_snapshot(store, path, fold(events[:4]))
    await other_code_snapshot(store, path, fold(events), monkeypatch)  # at the head
    assert list_snapshots(path)[0].seq == len(events)
    loaded = await load_snapshot(store, path)
    assert loaded is not None
    assert loaded.seq == 4
    feed = StateFeed(store, loaded)
    task = SnapshotTask(feed, path, every=len(events) - 4)
    assert task.last_seq == 4
    async with asyncio.TaskGroup() as tg:
        running = [tg.create_task(feed.run()), tg.create_task(task.run())]
        # Counting from the foreign file at the head, it would wait for ever.
        await wait_until(lambda: task.last_seq == len(events), timeout=10)
        for t in running:
            t.cancel()
    assert await load_snapshot(store, path) == fold(events)
