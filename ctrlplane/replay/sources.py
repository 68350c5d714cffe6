"""Where a replay reads its log from: an SQLite file, a JSONL export, or a live plane.

Each source offers the read half of the EventStore protocol (`iterate`,
`head`, `close`), so the replay code never cares which one it has. A source
only reads: the SQLite file is opened read-only (safe while a plane writes
it), the plane is read through `Events.Read`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import grpc

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2
from ctrlplane.replay.jsonl import read_lines


class LogSource(Protocol):
    """The read-only half of an EventStore."""

    def iterate(
        self, after_seq: int = 0, *, until_seq: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[list[events_pb2.Event]]: ...

    async def head(self) -> int: ...

    async def close(self) -> None: ...


class JsonlSource:
    """A JSONL export (see ctrlplane/replay/jsonl.py), read from disk on every pass."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def iterate(
        self, after_seq: int = 0, *, until_seq: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[list[events_pb2.Event]]:
        chunk: list[events_pb2.Event] = []
        with self.path.open(encoding="utf-8") as lines:
            for event in read_lines(lines):
                if event.seq <= after_seq:
                    continue
                if until_seq is not None and event.seq > until_seq:
                    break
                chunk.append(event)
                if len(chunk) >= batch:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    async def head(self) -> int:
        last = 0
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    last = int(json.loads(line)["seq"])
        return last

    async def close(self) -> None:
        return None


class ServerSource:
    """A live plane, read through Events.Read (and Events.Head)."""

    def __init__(self, address: str, channel: grpc.aio.Channel | None = None) -> None:
        self.address = address
        self._own_channel = channel is None
        self._channel = channel if channel is not None else grpc.aio.insecure_channel(address)
        self._stub = api_pb2_grpc.EventsStub(self._channel)  # type: ignore[no-untyped-call]

    async def iterate(
        self, after_seq: int = 0, *, until_seq: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[list[events_pb2.Event]]:
        request = api_pb2.ReadEventsRequest(after_seq=after_seq, until_seq=until_seq or 0)
        chunk: list[events_pb2.Event] = []
        async for event in self._stub.Read(request):
            chunk.append(event)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def head(self) -> int:
        response = await self._stub.Head(api_pb2.Empty())
        return int(response.seq)

    async def close(self) -> None:
        if self._own_channel:
            await self._channel.close()


async def open_source(log: str | None = None, *, server: str | None = None) -> LogSource:
    """Open LOG (a .jsonl file, or an SQLite event-log file read-only) or a plane at `server`."""
    if server:
        return ServerSource(server)
    if not log:
        raise ValueError("give a log file or --server ADDRESS")
    path = Path(log)
    if _is_jsonl(path):
        return JsonlSource(path)
    # Imported here so a JSONL replay works without the SQLite backend's deps.
    from ctrlplane.eventlog.sqlite import SqliteEventStore

    store: LogSource = await SqliteEventStore.open(str(path), read_only=True)
    return store


def _is_jsonl(path: Path) -> bool:
    """A .jsonl name, or a file that starts with "{" (SQLite files start "SQLite format")."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix in (".jsonl", ".ndjson"):
        return True
    with path.open("rb") as f:
        start = f.read(16)
    return start.lstrip().startswith(b"{")
