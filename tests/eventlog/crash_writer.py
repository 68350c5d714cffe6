"""Child process of test_crash: append to an event-log file until killed.

Eight appenders, each owning a stream and appending two-event batches with
its exact expected version, so that group commit is busy when SIGKILL comes.
Usage: python crash_writer.py PATH
"""

from __future__ import annotations

import asyncio
import sys

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.eventlog import NewEvent, SqliteEventStore


def event(stream: str, n: int) -> NewEvent:
    payload = events_pb2.Event(
        pod_status_reported=events_pb2.PodStatusReported(
            namespace="default", pod_name=f"p-{n}", node_name=stream, phase="Running"
        )
    )
    return NewEvent(stream=stream, payload=payload, actor="agent:crash", time=float(n))


async def appender(store: SqliteEventStore, stream: str) -> None:
    version = await store.stream_version(stream)
    while True:
        await store.append(
            [event(stream, version + 1), event(stream, version + 2)], {stream: version}
        )
        version += 2


async def main(path: str) -> None:
    store = await SqliteEventStore.open(path)
    await asyncio.gather(*(appender(store, f"node/n{i}") for i in range(8)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
