"""The committed head of a store and the readers waiting for it to move.

Only the backend that commits calls `advance`; it must do so after the
events are durable and readable, never before.
"""

from __future__ import annotations

import asyncio


class HeadSignal:
    def __init__(self, head: int = 0) -> None:
        self.head = head
        self._moved = asyncio.Event()
        self._closed = False

    def advance(self, head: int) -> None:
        """Publish a new committed head and wake every waiter once."""
        self.head = head
        # A fresh Event per move: waiters that woke re-check the head, and no
        # one has to clear a flag others may not have seen yet.
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def close(self) -> None:
        """Release every waiter (they return the head they see)."""
        self._closed = True
        self._moved.set()

    async def wait(self, after_seq: int, timeout: float | None = None) -> int:  # noqa: ASYNC109
        if self.head > after_seq or self._closed:
            return self.head
        if timeout is not None and timeout <= 0:
            return self.head
        try:
            async with asyncio.timeout(timeout):
                while self.head <= after_seq and not self._closed:
                    await self._moved.wait()
        except TimeoutError:
            pass
        return self.head
