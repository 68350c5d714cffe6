"""The state feed: the one task that folds the log into the process's ClusterState.

It folds the whole log at start (or only the tail after the state it was
given, e.g. a snapshot's), then tails it, and after each folded batch tells
subscribers what changed. Nothing else in the process mutates the
state; everything else reads it between awaits. It decides nothing and never
appends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import ClusterState, Touched, fold
from ctrlplane.eventlog.base import EventStore

Change = tuple[events_pb2.Event, Touched]
Batch = list[Change]


class Subscription:
    """One subscriber's queue of folded batches.

    By default the queue is unbounded on purpose: those subscribers are
    in-process and fast (the controller, the agents' hub), and dropping a
    batch would lose a `Touched` hint. A subscriber that fell behind loses
    nothing, and `get` hands over everything queued at once, so it catches up
    in one step. A subscriber paced by a remote reader (a rollout watch)
    passes `limit`: past that many queued batches they are dropped and
    `overflowed` is set, meaning "anything may have changed: look at the
    state again" (a fresh snapshot instead of a backlog, as DESIGN.md asks).
    """

    def __init__(self, start_seq: int, limit: int | None = None) -> None:
        # The state's seq when the subscription began: every batch delivered
        # comes after it, so "read feed.state, then consume batches" sees
        # each event exactly once.
        self.start_seq = start_seq
        self.limit = limit
        self.overflowed = False
        self._queue: asyncio.Queue[Batch] = asyncio.Queue()

    def _put_nowait(self, batch: Batch) -> None:
        if self.limit is not None and self._queue.qsize() >= self.limit:
            while not self._queue.empty():
                self._queue.get_nowait()
            self.overflowed = True
            batch = []  # wakes the reader, who must look at the state again
        self._queue.put_nowait(batch)

    def pending(self) -> bool:
        return not self._queue.empty()

    def get_nowait(self) -> Batch:
        """Everything queued now, merged into one batch (empty if nothing)."""
        merged: Batch = []
        while not self._queue.empty():
            merged.extend(self._queue.get_nowait())
        return merged

    async def get(self, timeout: float | None = None) -> Batch:  # noqa: ASYNC109
        """Wait for at least one batch; return everything queued, merged.

        Returns an empty batch when `timeout` passes first.
        """
        if self._queue.empty():
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                return []
            merged = list(first)
            merged.extend(self.get_nowait())
            return merged
        return self.get_nowait()

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Batch]:
        while True:
            yield await self.get()


class StateFeed:
    """Folds the log into `state` and publishes (event, touched) batches.

    Usage: `await feed.run()` in a task; `await feed.ready.wait()` before the
    first read of `state`; `async with feed.subscribe() as sub: ...` to be
    told about changes; `await feed.wait_for_seq(seq)` for read-your-writes.
    """

    def __init__(
        self, store: EventStore, state: ClusterState | None = None, *, batch: int = 10_000
    ) -> None:
        self.store = store
        self.state = state if state is not None else ClusterState()
        self.ready = asyncio.Event()
        self._batch = batch
        self._subscribers: set[Subscription] = set()
        # Replaced after every folded batch: waiters re-check their condition
        # when it fires (a broadcast without a lock).
        self._advanced = asyncio.Event()

    # ---- the task ---------------------------------------------------------

    async def run(self) -> None:
        """Fold the whole log, set `ready`, then tail the log forever."""
        # The initial fold publishes nothing: subscribers start from the
        # folded state itself (a restarted controller reconciles everything),
        # so it folds without building a Touched per event. It starts after
        # the seq of the state given (a snapshot), or from the beginning.
        async for events in self.store.iterate(self.state.seq, batch=self._batch):
            fold(events, self.state)
            self._advance()
        self.ready.set()
        while True:
            await self.store.wait(self.state.seq)
            events = await self.store.read(self.state.seq, limit=self._batch)
            if events:
                self.fold_nowait(events)

    def fold_nowait(self, events: list[events_pb2.Event]) -> None:
        """Fold events (already in the log, after `state.seq`) and publish them."""
        changes: Batch = []
        for event in events:
            if event.seq <= self.state.seq:
                continue  # already folded (a reader raced the tail)
            changes.append((event, self.state.apply(event)))
        if not changes:
            return
        for subscriber in self._subscribers:
            subscriber._put_nowait(changes)
        self._advance()

    def _advance(self) -> None:
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    # ---- readers ----------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, limit: int | None = None) -> AsyncIterator[Subscription]:
        """Batches folded from now on, until the block exits (see Subscription)."""
        subscription = Subscription(self.state.seq, limit)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    async def wait_for_seq(
        self,
        seq: int,
        timeout: float | None = None,  # noqa: ASYNC109 - the contract others code against
    ) -> None:
        """Wait until the state has folded `seq` (raise TimeoutError after `timeout`)."""
        await self.wait_for(lambda: self.state.seq >= seq, timeout)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        """Wait until `predicate()` holds, re-checking after every folded batch."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._advanced.wait()

    async def changed(self) -> None:
        """Wait for the next folded batch."""
        await self._advanced.wait()
