"""One contract suite for every EventStore backend (sqlite on a real file, memory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.eventlog import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyError,
    EventLogError,
    EventStore,
    MemoryEventStore,
    NewEvent,
    SqliteEventStore,
)


def labels(stream: str, n: int = 0, *, actor: str = "user:test", cause_seq: int = 0) -> NewEvent:
    node = stream.rsplit("/", 1)[-1]
    payload = events_pb2.Event(
        node_labels_changed=events_pb2.NodeLabelsChanged(node_name=node, labels={"n": str(n)})
    )
    return NewEvent(
        stream=stream, payload=payload, actor=actor, time=1000.0 + n, cause_seq=cause_seq
    )


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    backend: EventStore
    if request.param == "sqlite":
        backend = await SqliteEventStore.open(tmp_path / "events.db")
    else:
        backend = MemoryEventStore()
    yield backend
    await backend.close()


async def seqs(store: EventStore, after: int = 0) -> list[int]:
    return [e.seq for e in await store.read(after)]


async def test_an_empty_log(store: EventStore) -> None:
    assert await store.head() == 0
    assert await store.read() == []
    assert await store.stream_version("node/a") == 0
    assert [batch async for batch in store.iterate()] == []


async def test_append_returns_last_seq_and_read_fills_the_envelope(store: EventStore) -> None:
    last = await store.append(
        [labels("node/a", 1), labels("node/b", 2), labels("node/a", 3, cause_seq=7)]
    )
    assert last == 3
    events = await store.read()
    assert [(e.seq, e.stream, e.version) for e in events] == [
        (1, "node/a", 1),
        (2, "node/b", 1),
        (3, "node/a", 2),
    ]
    third = events[2]
    assert (third.time, third.actor, third.cause_seq) == (1003.0, "user:test", 7)
    assert third.node_labels_changed.labels == {"n": "3"}
    assert await store.head() == 3
    assert await store.stream_version("node/a") == 2
    assert await store.stream_version("node/b") == 1


@pytest.mark.parametrize(
    ("after", "limit", "until", "expected"),
    [
        pytest.param(0, None, None, [1, 2, 3, 4, 5], id="everything"),
        pytest.param(2, None, None, [3, 4, 5], id="after-seq"),
        pytest.param(0, 2, None, [1, 2], id="limit"),
        pytest.param(1, None, 3, [2, 3], id="until-seq"),
        pytest.param(1, 1, 3, [2], id="limit-and-until"),
        pytest.param(5, None, None, [], id="at-head"),
        pytest.param(3, None, 2, [], id="until-before-after"),
        pytest.param(0, 0, None, [], id="limit-zero"),
    ],
)
async def test_read_windows(
    store: EventStore, after: int, limit: int | None, until: int | None, expected: list[int]
) -> None:
    await store.append([labels("node/a", i) for i in range(5)])
    events = await store.read(after, limit=limit, until_seq=until)
    assert [e.seq for e in events] == expected


@pytest.mark.parametrize(
    ("expected", "conflict"),
    [
        pytest.param({"node/new": NO_STREAM}, None, id="no-stream-on-a-new-stream"),
        pytest.param({"node/a": 2}, None, id="exact-version"),
        pytest.param({"node/a": ANY_VERSION}, None, id="any-version"),
        pytest.param({"node/a": NO_STREAM}, ("node/a", 0, 2), id="no-stream-but-it-exists"),
        pytest.param({"node/a": 1}, ("node/a", 1, 2), id="stale"),
        pytest.param({"node/a": 3}, ("node/a", 3, 2), id="from-the-future"),
        pytest.param({"node/b": 1}, ("node/b", 1, 0), id="guard-on-another-stream"),
    ],
)
async def test_expected_versions(
    store: EventStore, expected: dict[str, int], conflict: tuple[str, int, int] | None
) -> None:
    await store.append([labels("node/a", 1), labels("node/a", 2)])
    stream = next(iter(expected))
    if conflict is None:
        assert await store.append([labels(stream, 3)], expected) == 3
        return
    with pytest.raises(ConcurrencyError) as caught:
        await store.append([labels(stream, 3)], expected)
    error = caught.value
    assert (error.stream, error.expected, error.actual) == conflict
    assert isinstance(error, EventLogError)
    assert await store.head() == 2


async def test_a_batch_is_all_or_nothing(store: EventStore) -> None:
    await store.append([labels("node/a", 1), labels("node/b", 1)])
    with pytest.raises(ConcurrencyError):
        await store.append(
            [labels("node/a", 2), labels("node/b", 2)], {"node/a": 1, "node/b": NO_STREAM}
        )
    assert await store.head() == 2
    assert await store.stream_version("node/a") == 1
    assert await store.append([labels("node/a", 2)], {"node/a": 1}) == 3


async def test_many_tasks_with_the_same_stale_version_exactly_one_wins(store: EventStore) -> None:
    await store.append([labels("node/a", 0)])
    results = await asyncio.gather(
        *(
            store.append([labels("node/a", i), labels("node/b", i)], {"node/a": 1})
            for i in range(30)
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, int)]
    losses = [r for r in results if isinstance(r, ConcurrencyError)]
    assert (len(wins), len(losses)) == (1, 29)
    assert {(e.expected, e.actual) for e in losses} == {(1, 2)}
    assert await seqs(store) == [1, 2, 3]
    assert await store.stream_version("node/b") == 1


async def test_group_commit_of_100_concurrent_appenders(store: EventStore) -> None:
    async def appender(i: int) -> list[int]:
        stream = f"node/n{i % 10}"
        return [
            await store.append([labels(stream, k)], {f"node/own{i}": ANY_VERSION}) for k in range(3)
        ]

    results = await asyncio.gather(*(appender(i) for i in range(100)))
    returned = sorted(seq for r in results for seq in r)
    assert returned == list(range(1, 301))
    events = await store.read()
    assert [e.seq for e in events] == list(range(1, 301))
    for n in range(10):
        versions = [e.version for e in events if e.stream == f"node/n{n}"]
        assert versions == list(range(1, 31))


async def test_concurrent_batches_conflict_alone(store: EventStore) -> None:
    first, second, other = await asyncio.gather(
        store.append([labels("node/a", 1)], {"node/a": NO_STREAM}),
        store.append([labels("node/a", 2)], {"node/a": NO_STREAM}),
        store.append([labels("node/b", 1)], {"node/b": NO_STREAM}),
        return_exceptions=True,
    )
    assert isinstance(first, int)
    assert isinstance(second, ConcurrencyError)
    assert isinstance(other, int)
    assert await seqs(store) == [1, 2]


async def test_wait_wakes_on_append(store: EventStore) -> None:
    await store.append([labels("node/a", 0)])
    waiter = asyncio.create_task(store.wait(1, timeout=30))
    await asyncio.sleep(0)  # let it start waiting; correctness does not depend on it
    assert not waiter.done()
    await store.append([labels("node/a", 1), labels("node/a", 2)])
    assert await waiter == 3


async def test_wait_returns_at_once_when_behind_and_on_timeout(store: EventStore) -> None:
    await store.append([labels("node/a", 0)])
    assert await store.wait(0, timeout=30) == 1
    assert await store.wait(1, timeout=0.01) == 1
    assert await store.wait(1, timeout=0) == 1


async def test_iterate_in_batches(store: EventStore) -> None:
    await store.append([labels(f"node/n{i % 3}", i) for i in range(25)])
    sizes = [len(batch) async for batch in store.iterate(batch=10)]
    assert sizes == [10, 10, 5]
    window = [e.seq async for batch in store.iterate(5, until_seq=12, batch=4) for e in batch]
    assert window == list(range(6, 13))
    exact = [len(batch) async for batch in store.iterate(batch=5)]
    assert exact == [5] * 5


async def test_read_events_are_copies(store: EventStore) -> None:
    await store.append([labels("node/a", 1)])
    (event,) = await store.read()
    event.node_labels_changed.labels["n"] = "changed"
    event.seq = 99
    (again,) = await store.read()
    assert (again.seq, again.node_labels_changed.labels["n"]) == (1, "1")


async def test_an_envelope_on_the_payload_is_ignored(store: EventStore) -> None:
    await store.append([labels("node/a", 1)])
    (event,) = await store.read()
    await store.append([NewEvent(stream="node/b", payload=event, actor="user:copy", time=5.0)])
    (copy,) = await store.read(1)
    assert (copy.seq, copy.stream, copy.version, copy.actor, copy.time) == (
        2,
        "node/b",
        1,
        "user:copy",
        5.0,
    )
    assert copy.node_labels_changed == event.node_labels_changed


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            NewEvent(stream="node/a", payload=events_pb2.Event(), actor="x", time=1.0),
            None,
            id="no-kind",
        ),
        pytest.param(
            NewEvent(stream="", payload=labels("node/a").payload, actor="x", time=1.0),
            None,
            id="no-stream",
        ),
        pytest.param(labels("node/a"), {"node/a": -2}, id="negative-expected-version"),
        pytest.param(labels("node/a", cause_seq=-1), None, id="negative-cause-seq"),
    ],
)
async def test_invalid_appends_raise_value_error_and_write_nothing(
    store: EventStore, event: NewEvent, expected: dict[str, int] | None
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        await store.append([labels("node/ok"), event], expected)
    assert await store.head() == 0


async def test_an_empty_batch_checks_versions_and_appends_nothing(store: EventStore) -> None:
    await store.append([labels("node/a")])
    assert await store.append([], {"node/a": 1}) == 1
    with pytest.raises(ConcurrencyError):
        await store.append([], {"node/a": NO_STREAM})
    assert await store.head() == 1


async def test_close_releases_waiters_then_everything_refuses(store: EventStore) -> None:
    await store.append([labels("node/a")])
    waiter = asyncio.create_task(store.wait(1))
    await asyncio.sleep(0)  # let it start waiting
    await store.close()
    assert await waiter == 1
    await store.close()  # idempotent
    with pytest.raises(EventLogError):
        await store.append([labels("node/a")])
    with pytest.raises(EventLogError):
        await store.read()
    with pytest.raises(EventLogError):
        await store.head()
    with pytest.raises(EventLogError):
        await store.stream_version("node/a")
    with pytest.raises(EventLogError):
        await store.wait(0, timeout=0)
    with pytest.raises(EventLogError):
        [batch async for batch in store.iterate()]


async def test_stopping_an_iteration_early_is_clean(store: EventStore) -> None:
    await store.append([labels("node/a", i) for i in range(30)])
    batches = store.iterate(batch=10)
    first = await anext(batches)
    await batches.aclose()  # type: ignore[attr-defined]
    assert [e.seq for e in first] == list(range(1, 11))
    assert await store.append([labels("node/a")]) == 31
