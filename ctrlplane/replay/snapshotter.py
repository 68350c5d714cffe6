"""Snapshots written from outside the plane: `python -m ctrlplane.replay.snapshotter DB`.

A plane pickling a very large state holds its event loop for a while (see
SnapshotTask). This process does the same work beside it instead: it opens
the SQLite log read-only, folds it (starting from the newest valid snapshot),
writes a snapshot, and with `--follow` keeps folding new events and writes
one every `--every` events. The plane only ever reads snapshots at start.
It never writes to the log.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ctrlplane.domain.state import ClusterState, fold
from ctrlplane.eventlog.sqlite import SqliteEventStore
from ctrlplane.replay.snapshots import (
    DEFAULT_EVERY,
    DEFAULT_KEEP,
    load_snapshot,
    load_state,
    write_snapshot,
)


async def snapshot_once(db: str, *, keep: int = DEFAULT_KEEP) -> int:
    """Fold to the head (from the newest snapshot) and write a snapshot; return its seq."""
    store = await SqliteEventStore.open(db, read_only=True)
    try:
        state = await load_state(store, db)
        await write_snapshot(store, db, state, keep=keep)
        return state.seq
    finally:
        await store.close()


async def follow(db: str, *, every: int = DEFAULT_EVERY, keep: int = DEFAULT_KEEP) -> None:
    """Keep a snapshot at most `every` events behind the head, until cancelled."""
    store = await SqliteEventStore.open(db, read_only=True)
    try:
        # Count from the snapshot actually loaded, not the newest file: that
        # one may be of other code or another log, ignored by load_snapshot.
        state = await load_snapshot(store, db) or ClusterState()
        written = state.seq
        async for batch in store.iterate(state.seq):
            fold(batch, state)
        if state.seq >= written + every:
            await write_snapshot(store, db, state, keep=keep)
            written = state.seq
        while True:
            await store.wait(state.seq)
            async for batch in store.iterate(state.seq):
                fold(batch, state)
            if state.seq >= written + every:
                await write_snapshot(store, db, state, keep=keep)
                written = state.seq
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctrlplane.replay.snapshotter",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("db", help="the SQLite event-log file")
    parser.add_argument("--follow", action="store_true", help="keep following the log")
    parser.add_argument("--every", type=int, default=DEFAULT_EVERY, metavar="EVENTS")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP, metavar="N")
    args = parser.parse_args(argv)
    if args.follow:
        try:
            asyncio.run(follow(args.db, every=args.every, keep=args.keep))
        except KeyboardInterrupt:
            return 0
        return 0
    seq = asyncio.run(snapshot_once(args.db, keep=args.keep))
    print(f"snapshot at seq {seq} beside {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
