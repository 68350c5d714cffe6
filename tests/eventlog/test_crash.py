"""A writer killed with SIGKILL mid-append leaves a log that opens, is gapless,
decodes, and takes more appends. A real child process, not a mock."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from ctrlplane.domain.streams import event_type
from ctrlplane.eventlog import SqliteEventStore

from .test_contract import labels

HELPER = Path(__file__).with_name("crash_writer.py")
EVENTS_PER_ROUND = 3_000
ROUNDS = 3


async def run_and_kill(path: Path, at_least: int) -> None:
    """Start the writer, wait (reading the file read-only) until the log has
    `at_least` events, then SIGKILL it."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(HELPER), str(path), stderr=asyncio.subprocess.PIPE
    )
    try:
        async with await SqliteEventStore.open(path, read_only=True) as log:
            async with asyncio.timeout(30):
                head = await log.head()
                while head < at_least:
                    assert child.returncode is None, "the writer died on its own"
                    head = await log.wait(head, timeout=0.5)
    finally:
        if child.returncode is None:
            child.kill()
        _, stderr = await child.communicate()
    assert child.returncode == -signal.SIGKILL, stderr.decode()


async def check_log(path: Path) -> int:
    # What `dsctl replay` does with a dead plane's log: open it read-only first.
    async with await SqliteEventStore.open(path, read_only=True) as log:
        head = await log.head()
        assert [e.seq for e in await log.read()] == list(range(1, head + 1))
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        types = raw.execute("SELECT type FROM events ORDER BY seq").fetchall()
    async with await SqliteEventStore.open(path) as store:
        assert await store.head() == head
        events = [e async for batch in store.iterate(batch=997) for e in batch]
        assert [e.seq for e in events] == list(range(1, head + 1))
        assert [(event_type(e),) for e in events] == types
        versions: dict[str, int] = {}
        for e in events:
            versions[e.stream] = versions.get(e.stream, 0) + 1
            assert e.version == versions[e.stream], f"gap in {e.stream} at seq {e.seq}"
        # Batches are atomic: every appender wrote two events at a time.
        assert all(v % 2 == 0 for s, v in versions.items() if s.startswith("node/n"))
        assert await store.append([labels("node/after")]) == head + 1
        return head + 1


async def test_sigkill_mid_append_leaves_a_log_that_opens_and_continues(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with await SqliteEventStore.open(path) as store:
        head = await store.append([labels("node/setup")])
    for _ in range(ROUNDS):
        await run_and_kill(path, head + EVENTS_PER_ROUND)
        head = await check_log(path)
