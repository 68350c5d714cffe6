"""The async controller: feed batches in, reconcile, decisions appended.

It works only on what changed (the daemon sets and nodes the feed says were
touched), wakes on timers for back-off and deadlines, and appends each pass's
decisions in one batch guarded by the daemon-set streams' versions, so a
stale or second controller cannot write conflicting decisions. What to
decide is `reconcile`'s business (pure); this module only runs it.
"""

from __future__ import annotations

import heapq
import logging

from ctrlplane.clock import Clock
from ctrlplane.controller.feed import Batch, StateFeed
from ctrlplane.controller.reconcile import reconcile
from ctrlplane.controller.scope import Work, add_work, work_for
from ctrlplane.domain.state import DsKey
from ctrlplane.domain.streams import daemon_set_key, daemon_set_stream
from ctrlplane.eventlog.base import ConcurrencyError, EventStore, NewEvent

log = logging.getLogger(__name__)

ACTOR = "controller"

# Longest sleep without looking at the clock again: a wall clock may jump.
MAX_SLEEP = 30.0


class Controller:
    def __init__(
        self,
        feed: StateFeed,
        store: EventStore,
        clock: Clock,
        *,
        fold_timeout: float = 30.0,
        strict: bool = False,
    ) -> None:
        self.feed = feed
        self.store = store
        self.clock = clock
        self.fold_timeout = fold_timeout
        # strict: a reconcile that raises stops the controller (tests);
        # otherwise it is logged and that daemon set retried on its next change.
        self.strict = strict
        self._timers: list[tuple[float, DsKey]] = []  # heap; stale entries skipped
        self._wake_at: dict[DsKey, float] = {}
        # Counters, for tests and benchmarks.
        self.passes = 0
        self.appended = 0
        self.conflicts = 0

    # ---- the task ---------------------------------------------------------

    async def run(self) -> None:
        async with self.feed.subscribe() as subscription:
            await self.feed.ready.wait()
            # A (re)started controller looks at everything once: the plane
            # continues where it stopped.
            dirty: Work = dict.fromkeys(self.feed.state.daemon_sets)
            while True:
                if dirty:
                    dirty = await self.step(dirty)
                    if dirty:
                        continue  # a conflict: retry what is left now
                batch = await subscription.get(self._sleep_time())
                dirty = self.dirty_from(batch)
                self._due_timers(dirty)

    def dirty_from(self, batch: Batch) -> Work:
        """The work a batch of folded events makes, from their Touched hints."""
        return work_for(self.feed.state, (touched for _event, touched in batch))

    # ---- one pass ---------------------------------------------------------

    async def step(self, dirty: Work) -> Work:
        """Reconcile `dirty`, append the decisions, wait until they are folded.

        Returns the work left over (daemon sets whose stream moved on under
        us: ConcurrencyError), to be retried once the feed has caught up.
        """
        self.passes += 1
        state = self.feed.state
        now = self.clock.now()
        cause_seq = state.seq
        events: list[NewEvent] = []
        expected: dict[str, int] = {}
        for key, nodes in sorted(dirty.items()):
            ds = state.daemon_sets.get(key)
            if ds is None:
                continue
            try:
                result = reconcile(state, key, now, nodes=nodes)
            except Exception:
                if self.strict:
                    raise
                log.exception("reconcile of %s/%s failed", *key)
                continue
            if result.wake_at is not None:
                self._schedule(key, result.wake_at)
            if not result.decisions:
                continue
            expected[daemon_set_stream(*key)] = ds.version
            events.extend(
                NewEvent(
                    stream=decision.stream,
                    payload=decision.payload,
                    actor=ACTOR,
                    time=now,
                    cause_seq=cause_seq,
                )
                for decision in result.decisions
            )
        if not events:
            return {}
        try:
            seq = await self.store.append(events, expected)
        except ConcurrencyError as conflict:
            self.conflicts += 1
            log.info("controller: %s; deciding again", conflict)
            await self._wait_for_stream(conflict.stream, conflict.actual)
            return dict.fromkeys(dirty)
        self.appended += len(events)
        # Decide again only from a state that holds our own decisions:
        # otherwise the next pass would decide the same pods twice.
        try:
            await self.feed.wait_for_seq(seq, self.fold_timeout)
        except TimeoutError:
            # A slow fold must not stop the plane: a pass from a state without
            # these decisions appends against old stream versions and gets a
            # ConcurrencyError rather than deciding the same pods twice.
            log.warning("controller: feed did not fold seq %d within %.1fs", seq, self.fold_timeout)
        return {}

    async def _wait_for_stream(self, stream: str, version: int) -> None:
        """Wait until the feed has folded `stream` up to `version`."""
        state = self.feed.state
        key = daemon_set_key(stream)

        def caught_up() -> bool:
            ds = state.daemon_sets.get(key) if key is not None else None
            return ds is None or ds.version >= version  # None: nothing to wait for

        try:
            await self.feed.wait_for(caught_up, self.fold_timeout)
        except TimeoutError:
            log.warning("controller: feed did not reach %s@%d", stream, version)

    # ---- timers -----------------------------------------------------------

    def _schedule(self, key: DsKey, wake_at: float) -> None:
        # Keep the earliest: a pass limited to some nodes may not know the
        # others' deadlines; an early wake only costs one reconcile.
        current = self._wake_at.get(key)
        if current is not None and current <= wake_at:
            return
        self._wake_at[key] = wake_at
        heapq.heappush(self._timers, (wake_at, key))

    def _sleep_time(self) -> float | None:
        while self._timers:
            wake_at, key = self._timers[0]
            if self._wake_at.get(key) != wake_at:
                heapq.heappop(self._timers)  # superseded
                continue
            return min(MAX_SLEEP, max(0.0, wake_at - self.clock.now()))
        return None

    def _due_timers(self, dirty: Work) -> None:
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            wake_at, key = heapq.heappop(self._timers)
            if self._wake_at.get(key) == wake_at:
                del self._wake_at[key]
                add_work(dirty, key, None)
