"""The SQLite event-log file itself: schema, schema version, pragmas, and the
one-writer lock. The store (sqlite.py) opens files through here; nothing here
reads or writes events.
"""

from __future__ import annotations

import fcntl
import os

import aiosqlite

from ctrlplane.eventlog.base import EventLogError

SCHEMA_VERSION = 1  # PRAGMA user_version of a file this code writes

_SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    data BLOB NOT NULL,
    time REAL NOT NULL,
    actor TEXT NOT NULL,
    cause_seq INTEGER NOT NULL,
    UNIQUE (stream, version)
)
"""
# The writer's settings (sqlite.py's docstring says why NORMAL). Every commit
# rewrites the index pages of the streams it touched; a longer WAL lets one
# checkpoint copy each hot page once for many commits and do its two fsyncs
# less often (16 MB of WAL before a checkpoint instead of 4 MB).
WRITER_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "busy_timeout=5000",
    "wal_autocheckpoint=4000",
    "journal_size_limit=67108864",
    "cache_size=-32768",
)


def lock_for_writing(path: str) -> int:
    """Take the file's writer lock (`PATH-lock`, flock) or refuse to open.

    The writer keeps the head and stream versions in memory, so a second
    writer would make every one of its commits fail; better to say so at
    open. The kernel drops the lock when the process dies, even by SIGKILL.
    Read-only openers never take it.
    """
    lock_path = f"{path}-lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise EventLogError(f"cannot open event log {path}: {error}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        raise EventLogError(
            f"event log {path} is already open for writing (by another plane?); "
            "a log has one writer: stop it, or open the log read-only"
        ) from error
    return fd


async def check_schema(connection: aiosqlite.Connection, path: str, *, create: bool) -> None:
    """Create the schema in an empty file; refuse a file we do not understand."""
    if create:
        # IMMEDIATE: two processes opening a new file at once must not both create.
        await connection.execute("BEGIN IMMEDIATE")
    try:
        rows = list(await connection.execute_fetchall("PRAGMA user_version"))
        version = int(rows[0][0])
        tables = {
            (name.decode() if isinstance(name, bytes) else name)
            for (name,) in await connection.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        if version == 0 and not tables and create:
            await connection.execute(_SCHEMA)
            await connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version == 0:
            raise EventLogError(
                f"{path} is not a ctrlplane event log"
                + (f" (it has tables {', '.join(sorted(tables))})" if tables else " (empty)")
            )
        elif version != SCHEMA_VERSION:
            raise EventLogError(
                f"{path} has event-log schema version {version}; this ctrlplane knows "
                f"version {SCHEMA_VERSION} only (was it written by a newer release?)"
            )
        elif "events" not in tables:
            raise EventLogError(f"{path} claims schema version {version} but has no events table")
    finally:
        if create:
            await connection.commit()
