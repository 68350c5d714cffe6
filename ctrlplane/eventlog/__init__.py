"""The append-only event log: a protocol, its backends (sqlite, memory) and
`open_store`, which picks one from a path or URL."""

from __future__ import annotations

import urllib.parse

from ctrlplane.eventlog.base import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyError,
    EventLogError,
    EventStore,
    NewEvent,
)
from ctrlplane.eventlog.memory import MemoryEventStore
from ctrlplane.eventlog.sqlite import SqliteEventStore


async def open_store(path_or_url: str, *, read_only: bool = False) -> EventStore:
    """Open the event log at `path_or_url`.

    - a file path, or `sqlite:///abs/path.db` (`sqlite:///` + path as in a
      file URL; `sqlite:rel.db` for a relative one): SqliteEventStore,
      created if missing unless `read_only`;
    - `memory:`: a new, empty MemoryEventStore.
    """
    if path_or_url == "memory:":
        if read_only:
            raise ValueError("a read-only memory event log would always be empty")
        return MemoryEventStore()
    if path_or_url.startswith("sqlite:"):
        parsed = urllib.parse.urlsplit(path_or_url)
        if parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError(f"{path_or_url!r}: expected sqlite:///PATH with nothing else")
        path = urllib.parse.unquote(parsed.path)
        if not path:
            raise ValueError(f"{path_or_url!r}: no file path")
        return await SqliteEventStore.open(path, read_only=read_only)
    scheme = urllib.parse.urlsplit(path_or_url).scheme
    if "://" in path_or_url:
        raise ValueError(
            f"{path_or_url!r}: unknown event log scheme {scheme!r}; "
            "expected a file path, sqlite:///PATH or memory:"
        )
    return await SqliteEventStore.open(path_or_url, read_only=read_only)


__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "ConcurrencyError",
    "EventLogError",
    "EventStore",
    "MemoryEventStore",
    "NewEvent",
    "SqliteEventStore",
    "open_store",
]
