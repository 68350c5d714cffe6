"""The state feed and the async controller over a real SQLite log (no gRPC)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support import daemon_set, node, wait_until

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.clock import Clock, FakeClock, SystemClock
from ctrlplane.controller.feed import StateFeed
from ctrlplane.controller.loop import Controller
from ctrlplane.domain.manifests import prepare_daemon_set
from ctrlplane.domain.revisions import template_hash
from ctrlplane.eventlog import open_store
from ctrlplane.eventlog.base import EventStore, NewEvent

T0 = 1_700_000_000.0


def register(name: str, labels: dict[str, str] | None = None) -> NewEvent:
    payload = events_pb2.Event(node_registered=events_pb2.NodeRegistered(node=node(name, labels)))
    return NewEvent(f"node/{name}", payload, "user:test", T0)


def applied(name: str, **kwargs: object) -> NewEvent:
    obj = prepare_daemon_set(daemon_set(name, **kwargs))  # type: ignore[arg-type]
    obj.metadata.generation = 1
    payload = events_pb2.Event(
        daemon_set_applied=events_pb2.DaemonSetApplied(
            daemon_set=obj, template_hash=template_hash(obj.spec.template)
        )
    )
    return NewEvent(f"daemonset/default/{name}", payload, "user:test", T0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    opened = await open_store(str(tmp_path / "events.db"))
    try:
        yield opened
    finally:
        await opened.close()


def scheduled(events: list[events_pb2.Event]) -> list[tuple[str, str]]:
    return [
        (e.pod_scheduled.daemon_set, e.pod_scheduled.node_name)
        for e in events
        if e.WhichOneof("kind") == "pod_scheduled"
    ]


# ---- the feed ----------------------------------------------------------------


async def test_feed_folds_then_tails_and_publishes(store: EventStore) -> None:
    await store.append([register("n1"), register("n2")])
    feed = StateFeed(store)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(feed.run())
        async with feed.subscribe() as subscription:
            await feed.ready.wait()
            assert set(feed.state.nodes) == {"n1", "n2"}
            assert feed.state.seq == 2
            assert not subscription.pending()  # the initial fold publishes nothing

            seq = await store.append([register("n3")])
            await feed.wait_for_seq(seq, 5)
            batch = await subscription.get(5)
            assert [event.seq for event, _touched in batch] == [3]
            assert batch[0][1].nodes == {"n3"}
        with pytest.raises(TimeoutError):
            await feed.wait_for_seq(99, 0.01)
        task.cancel()


async def test_bounded_subscription_overflows_instead_of_growing(store: EventStore) -> None:
    feed = StateFeed(store)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(feed.run())
        await feed.ready.wait()
        async with feed.subscribe(limit=2) as slow, feed.subscribe() as fast:
            for name in ("n1", "n2", "n3"):  # three batches: one more than `slow` holds
                await feed.wait_for_seq(await store.append([register(name)]), 5)
            assert slow.overflowed
            assert slow.get_nowait() == []  # dropped; the reader looks at the state
            assert [e.seq for e, _t in fast.get_nowait()] == [1, 2, 3]
        task.cancel()


# ---- the controller ----------------------------------------------------------


def run_plane(store: EventStore, clock: Clock) -> tuple[StateFeed, Controller]:
    """A feed and a controller over `store`; the caller runs and cancels their tasks."""
    feed = StateFeed(store)
    return feed, Controller(feed, store, clock, strict=True)


async def test_controller_schedules_eligible_nodes_once(store: EventStore) -> None:
    await store.append(
        [
            register("n1", {"zone": "a"}),
            register("n2", {"zone": "b"}),
            register("n3", {"zone": "a"}),
        ]
    )
    await store.append([applied("web", node_selector={"zone": "a"})])
    feed, controller = run_plane(store, FakeClock(T0))
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(feed.run()), tg.create_task(controller.run())]
        await wait_until(lambda: len(feed.state.pods) == 2, feed=feed, message="two pods")
        # A node joins: only its work is done.
        seq = await store.append([register("n4", {"zone": "a"})])
        await wait_until(lambda: len(feed.state.pods) == 3, feed=feed, message="n4's pod")
        for task in tasks:
            task.cancel()
    events = await store.read(0)
    assert sorted(scheduled(events)) == [("web", "n1"), ("web", "n3"), ("web", "n4")]
    decisions = [e for e in events if e.actor == "controller"]
    assert all(e.cause_seq > 0 and e.time == T0 for e in decisions)
    assert [e.cause_seq for e in decisions if e.pod_scheduled.node_name == "n4"] == [seq]


async def test_stale_second_controller_cannot_write(store: EventStore) -> None:
    await store.append([register("n1"), register("n2")])
    before = await store.append([applied("web")])
    clock = FakeClock(T0)
    feed, controller = run_plane(store, clock)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(feed.run()), tg.create_task(controller.run())]
        await wait_until(lambda: len(feed.state.pods) == 2, feed=feed, message="two pods")
        for task in tasks:
            task.cancel()

    # A second controller whose state stopped before the first one's decisions.
    stale = StateFeed(store)
    stale.fold_nowait(await store.read(0, until_seq=before))
    stale.ready.set()
    second = Controller(stale, store, clock, strict=True)
    async with asyncio.TaskGroup() as tg:
        tail = tg.create_task(stale.run())  # catches up only once the append has failed
        left = await second.step({("default", "web"): None})
        assert second.conflicts == 1
        assert second.appended == 0
        assert left == {("default", "web"): None}
        assert await second.step(left) == {}  # decided again from the fresh state: nothing
        tail.cancel()
    counts = Counter(scheduled(await store.read(0)))
    assert counts == {("web", "n1"): 1, ("web", "n2"): 1}


async def test_a_feed_that_does_not_fold_in_time_does_not_stop_the_controller(
    store: EventStore,
) -> None:
    # given a controller whose feed does not run (it folds nothing more)
    await store.append([register("n1"), applied("web")])
    feed = StateFeed(store)
    feed.fold_nowait(await store.read(0))
    feed.ready.set()
    controller = Controller(feed, store, FakeClock(T0), fold_timeout=0.01, strict=True)
    # when a pass appends and its decisions are not folded in time
    assert await controller.step({("default", "web"): None}) == {}
    # then the pass ends quietly, and the next one from the same stale state
    # is refused by the stream's version instead of deciding the pod twice
    assert controller.appended == 1
    assert await controller.step({("default", "web"): None}) == {("default", "web"): None}
    assert controller.conflicts == 1
    assert scheduled(await store.read(0)) == [("web", "n1")]


async def test_restarted_controller_continues(store: EventStore) -> None:
    await store.append([register("n1"), applied("web")])
    clock = FakeClock(T0)
    feed, controller = run_plane(store, clock)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(feed.run()), tg.create_task(controller.run())]
        await wait_until(lambda: len(feed.state.pods) == 1, feed=feed, message="n1's pod")
        for task in tasks:
            task.cancel()
    # While no controller runs, a node joins.
    await store.append([register("n2")])
    head = await store.head()

    feed, controller = run_plane(store, clock)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(feed.run()), tg.create_task(controller.run())]
        await wait_until(lambda: len(feed.state.pods) == 2, feed=feed, message="n2's pod")
        for task in tasks:
            task.cancel()
    events = await store.read(head)
    assert scheduled(events) == [("web", "n2")]  # n1's pod was not decided twice


async def test_timer_wakes_the_controller_after_back_off(store: EventStore) -> None:
    """A Failed pod is replaced once its back-off (1 s after the first failure) has passed,
    with no event in between: only the controller's timer can wake it."""
    clock = SystemClock()
    await store.append([register("n1"), applied("web")])
    feed, controller = run_plane(store, clock)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(feed.run()), tg.create_task(controller.run())]
        await wait_until(lambda: len(feed.state.pods) == 1, feed=feed, message="n1's pod")
        ((_, first),) = feed.state.pods
        failed = events_pb2.Event(
            pod_status_reported=events_pb2.PodStatusReported(
                namespace="default", pod_name=first, node_name="n1", phase="Failed"
            )
        )
        reported = await store.append([NewEvent("node/n1", failed, "agent:n1", clock.now())])
        await wait_until(
            lambda: {name for _ns, name in feed.state.pods} - {first},
            timeout=10,
            feed=feed,
            message="a replacement pod after the back-off",
        )
        for task in tasks:
            task.cancel()
    kinds = [e.WhichOneof("kind") for e in await store.read(reported)]
    assert kinds[:2] == ["pod_deleted", "pod_scheduled"]
