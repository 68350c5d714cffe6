"""The append-only event log: a protocol and its backends (sqlite, memory)."""

from ctrlplane.eventlog.base import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyError,
    EventLogError,
    EventStore,
    NewEvent,
)

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "ConcurrencyError",
    "EventLogError",
    "EventStore",
    "NewEvent",
]
