"""Fold a log up to a moment: a seq, or a wall-clock time taken from the events.

`--at SEQ` folds every event with seq <= SEQ. `--at TIME` folds events in log
order and stops before the first whose `time` is later than TIME (the log's
order is the truth; times only say where to stop). Owns parsing of `--at`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import ClusterState, fold
from ctrlplane.replay.sources import LogSource


@dataclass(frozen=True, slots=True)
class At:
    """A moment in a log: a seq, a time (unix seconds), or neither (the head)."""

    seq: int | None = None
    time: float | None = None

    @classmethod
    def parse(cls, text: str) -> At:
        """`1234` is a seq; `@1764441000.5` is unix seconds; anything else is ISO 8601."""
        text = text.strip()
        if text.isdigit():
            return cls(seq=int(text))
        if text.startswith("@"):
            return cls(time=float(text[1:]))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"--at {text!r}: expected a seq, @UNIX_SECONDS or an ISO 8601 time"
            ) from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(time=moment.timestamp())

    def includes(self, event: events_pb2.Event) -> bool:
        if self.seq is not None and event.seq > self.seq:
            return False
        return not (self.time is not None and event.time > self.time)


HEAD = At()


async def batches_until(
    source: LogSource, at: At = HEAD, after_seq: int = 0
) -> AsyncIterator[list[events_pb2.Event]]:
    """The events after `after_seq` up to `at`, in the source's batches (none empty)."""
    async for batch in source.iterate(after_seq, until_seq=at.seq):
        if at.time is not None or (at.seq is not None and batch and batch[-1].seq > at.seq):
            cut = next((i for i, e in enumerate(batch) if not at.includes(e)), None)
            if cut is not None:
                if cut:
                    yield batch[:cut]
                return
        if batch:
            yield batch


async def events_until(
    source: LogSource, at: At = HEAD, after_seq: int = 0
) -> AsyncIterator[events_pb2.Event]:
    """The events after `after_seq` up to `at`, one by one."""
    async for batch in batches_until(source, at, after_seq):
        for event in batch:
            yield event


async def fold_to(
    source: LogSource, at: At = HEAD, state: ClusterState | None = None
) -> ClusterState:
    """Fold `source` from `state` (default: empty) up to `at` (the quiet fold: no Touched)."""
    state = state if state is not None else ClusterState()
    async for batch in batches_until(source, at, state.seq):
        fold(batch, state)
    return state


def view_time(state: ClusterState, at: At) -> float:
    """The `now` a view at `at` is computed for: the asked time, else the last event's."""
    return at.time if at.time is not None else state.time
