"""One connected agent's outgoing side: its bounded queue and what it was sent.

A full queue is dropped and replaced by a fresh snapshot (a slow agent never
grows a backlog). Also the shape of a node's facts (labels, taints) as the
hub compares them. It must not touch the log or the folded state.
"""

from __future__ import annotations

import asyncio
import collections

from ctrlplane._proto.v1 import agent_pb2, objects_pb2
from ctrlplane.domain.state import PodKey

QUEUE_LIMIT = 64  # deltas waiting for one agent before it gets a snapshot instead

Status = tuple[str, bool, int, str]  # phase, ready, restart count, message
Facts = tuple[dict[str, str], list[tuple[str, str, str]]]  # a node's labels and taints


def taints_key(taints: list[objects_pb2.Taint]) -> list[tuple[str, str, str]]:
    return sorted((t.key, t.value, t.effect) for t in taints)


def hello_facts(hello: agent_pb2.Hello) -> Facts:
    return dict(hello.labels), taints_key(list(hello.taints))


class _Stream:
    """One connected agent: its queue of outgoing messages and what it was sent."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.queue: collections.deque[agent_pb2.PlaneMessage] = collections.deque()
        self.wake = asyncio.Event()
        self.needs_snapshot = True
        self.sent_seq = 0
        self.closed = False
        self.mirrors: set[PodKey] = set()  # static mirror pods this agent reported
        self.handler: asyncio.Task[object] | None = asyncio.current_task()
        self.reader: asyncio.Task[object] | None = None  # set by Connect
        self.clean = False  # the agent said goodbye
        self.wake.set()  # the first message (snapshot or "you are current") is due

    def cancel(self) -> None:
        """A newer stream of the same node replaced this one: cancel its call."""
        self.closed = True
        self.wake.set()
        if self.handler is not None and self.handler is not asyncio.current_task():
            self.handler.cancel()

    def end(self) -> None:
        """End the call normally (the plane stops): the agent sees the stream end."""
        self.closed = True
        self.wake.set()
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()  # only the read: the handler returns, status OK

    def push(self, message: agent_pb2.PlaneMessage) -> None:
        if len(self.queue) >= QUEUE_LIMIT:
            self.queue.clear()
            self.needs_snapshot = True
        else:
            self.queue.append(message)
        self.wake.set()
