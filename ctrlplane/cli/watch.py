"""dsctl get -w: a table, then one line each time a listed object changes (kubectl --watch).

It follows the plane's event log (Events.Follow, in a reader thread) and
re-reads the listed objects after each burst of events: it never polls on a
timer. Rows are compared without their AGE, so time passing prints nothing;
an object that goes away is printed once more, marked "(deleted)".
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import grpc

from ctrlplane._proto.v1 import api_pb2, events_pb2
from ctrlplane.cli import output
from ctrlplane.cli.client import Client

DELETED_MARKER = " (deleted)"
Key = tuple[str, str]
Rows = list[tuple[Key, list[str]]]
_END = object()
_TICK = 0.5  # how often the wait wakes to notice Ctrl-C and the deadline


class Changes:
    """Which rows to print, given what was printed before. Pure."""

    def __init__(self, header: Sequence[str], rows: Rows) -> None:
        self._age = list(header).index("AGE") if "AGE" in header else -1
        self._name = list(header).index("NAME") if "NAME" in header else 0
        self.shown: dict[Key, list[str]] = dict(rows)

    def _same(self, a: Sequence[str], b: Sequence[str]) -> bool:
        keep = [i for i in range(max(len(a), len(b))) if i != self._age]
        return [a[i] for i in keep if i < len(a)] == [b[i] for i in keep if i < len(b)]

    def update(self, rows: Rows) -> list[list[str]]:
        out: list[list[str]] = []
        current = dict(rows)
        for key, row in rows:
            before = self.shown.get(key)
            if before is None or not self._same(before, row):
                out.append(row)
        for key, row in self.shown.items():
            if key not in current:
                gone = list(row)
                gone[self._name] += DELETED_MARKER
                out.append(gone)
        self.shown = current
        return out


def _pump(call: Iterable[events_pb2.Event], inbox: queue.Queue[object]) -> None:
    try:
        for event in call:
            inbox.put(event)
    except grpc.RpcError as exc:
        inbox.put(exc)
    inbox.put(_END)


def _bursts(inbox: queue.Queue[object], deadline: float | None) -> Iterator[None]:
    """Yields once per burst of events until the deadline (None: forever)."""
    while True:
        wait = _TICK
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                return
        try:
            item = inbox.get(timeout=wait)
        except queue.Empty:
            continue
        items = [item]
        while not inbox.empty():
            items.append(inbox.get_nowait())
        for got in items:
            if isinstance(got, grpc.RpcError):
                raise got
            if got is _END:
                return
        yield None


def watch(
    client: Client,
    header: Sequence[str],
    read: Callable[[], Rows],
    initial: Rows,
    *,
    timeout: float = 0.0,
) -> int:
    """Print `initial` (with `header`), then changed rows after each burst of events."""
    head = client.events.Head(api_pb2.Empty(), metadata=client.metadata, timeout=client.timeout)
    widths = output.column_widths([list(header)] + [row for _, row in initial])
    sys.stdout.write(output.table_row(header, widths))
    for _, row in initial:
        sys.stdout.write(output.table_row(row, widths))
    sys.stdout.flush()
    changes = Changes(header, initial)
    call = client.events.Follow(
        api_pb2.ReadEventsRequest(after_seq=head.seq), metadata=client.metadata
    )
    inbox: queue.Queue[object] = queue.Queue()
    threading.Thread(target=_pump, args=(call, inbox), daemon=True).start()
    deadline = time.monotonic() + timeout if timeout > 0 else None
    try:
        for _ in _bursts(inbox, deadline):
            for row in changes.update(read()):
                sys.stdout.write(output.table_row(row, widths))
            sys.stdout.flush()
    finally:
        call.cancel()
    return 0
