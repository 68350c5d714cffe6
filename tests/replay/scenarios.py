"""Small logs built with LogBuilder and the real reconcile, shared by the replay tests."""

from __future__ import annotations

from pathlib import Path

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.replay.jsonl import write_events
from replay.logs import LogBuilder, daemon_set


def rollout_log() -> LogBuilder:
    """Three ssd nodes; fluentd placed; n2 relabelled away; a rolling update to v2."""
    log = LogBuilder()
    for i in range(3):
        log.register(f"n{i}", {"disk": "ssd", "zone": f"z{i % 2}"})
        log.connect(f"n{i}")
    log.apply(daemon_set(node_selector={"disk": "ssd"}), cause="v1")
    log.settle()
    log.label("n2", {"disk": "hdd", "zone": "z0"})
    log.settle()
    log.apply(daemon_set(image="fluentd:v2", node_selector={"disk": "ssd"}, generation=2),
              cause="v2")
    log.settle()
    return log


def save(events: list[events_pb2.Event], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        write_events(events, out)
    return path


def first(events: list[events_pb2.Event], kind: str) -> events_pb2.Event:
    return next(e for e in events if e.WhichOneof("kind") == kind)


async def sqlite_log(path: Path, events: list[events_pb2.Event]) -> Path:
    """Write `events` into a real SQLite event log (seqs and versions come out the same)."""
    from ctrlplane.eventlog.base import NewEvent
    from ctrlplane.eventlog.sqlite import SqliteEventStore

    store = await SqliteEventStore.open(path)
    try:
        await store.append([NewEvent(e.stream, e, e.actor, e.time, e.cause_seq) for e in events])
    finally:
        await store.close()
    return path
