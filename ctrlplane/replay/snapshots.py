"""Snapshots: a folded ClusterState stored beside the log, an optimisation only.

A snapshot is a file in `<log>.snapshots/` named `state-<seq>.snap`:

    b"CTRLSNAP1\\n" + <header length: 8 bytes big-endian> + <header JSON> + <pickle of the state>

The header says which code wrote it (`fingerprint`: a hash of SNAPSHOT_VERSION,
the domain's source files and the event schema), the seq it was folded to,
and the envelope (stream, version, time) of the event at that seq. A snapshot
is used only when all three still hold: same code, a log at least that long,
and the same event at that seq (a log file replaced by another is not fooled).
Anything else is ignored, never trusted; the fold from the log is the truth.

Pickle is used because the state holds protobuf messages and indices; the
snapshot directory is as trusted as the log file beside it. This module owns
writing, choosing and loading snapshots; it never writes to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import copyreg
import dataclasses
import gc
import hashlib
import io
import json
import operator
import os
import pickle
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from google.protobuf import message_factory
from google.protobuf.message import Message

import ctrlplane.domain
from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain.state import (
    ClusterState,
    DaemonSetState,
    NodeState,
    PodState,
    RevisionRecord,
)
from ctrlplane.replay.sources import LogSource
from ctrlplane.replay.timetravel import At, fold_to

# Bump when the snapshot layout changes without a change in ctrlplane/domain.
SNAPSHOT_VERSION = 1
MAGIC = b"CTRLSNAP1\n"
SUFFIX = ".snap"
DEFAULT_EVERY = 100_000  # events between periodic snapshots
DEFAULT_KEEP = 2


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Hash of everything that decides what a fold produces."""
    digest = hashlib.sha256(f"snapshot-v{SNAPSHOT_VERSION}".encode())
    domain = Path(ctrlplane.domain.__file__).parent
    for source in sorted(domain.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    digest.update(events_pb2.DESCRIPTOR.serialized_pb)
    digest.update(objects_pb2.DESCRIPTOR.serialized_pb)
    return digest.hexdigest()[:32]


def snapshot_dir(log_path: str | os.PathLike[str]) -> Path:
    """`<file>.snapshots` beside the log file (a `sqlite:///path` URL names its file)."""
    text = os.fspath(log_path)
    if text.startswith("sqlite:"):
        text = urllib.parse.unquote(urllib.parse.urlsplit(text).path)
    return Path(f"{text}.snapshots")


def has_file(log_path: str | os.PathLike[str] | None) -> bool:
    """Whether the log lives in a file snapshots can sit beside (not memory:, not postgres)."""
    if log_path is None:
        return False
    text = os.fspath(log_path)
    return text.startswith("sqlite:") or ("://" not in text and text != "memory:")


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    path: Path
    seq: int
    fingerprint: str
    stream: str
    version: int
    time: float


def _anchor(event: events_pb2.Event) -> dict[str, Any]:
    return {"stream": event.stream, "version": event.version, "time": event.time}


# ---- pickling ----------------------------------------------------------------
# The generated protobuf classes cannot be pickled by reference (their
# __module__ names the .proto package, not ctrlplane._proto), so they are
# pickled as (full name, bytes); compiled caches inside the state are dropped
# (they are rebuilt on first use). Both go through a dispatch table, looked up
# in C by exact type: the many plain objects of a state pay nothing for it.


def _message_classes() -> dict[str, type[Message]]:
    classes: dict[str, type[Message]] = {}
    for module in (objects_pb2, events_pb2):
        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            stack = [descriptor]
            while stack:
                d = stack.pop()
                if not d.GetOptions().map_entry:
                    classes[d.full_name] = message_factory.GetMessageClass(d)
                stack.extend(d.nested_types)
    return classes


_MESSAGES = _message_classes()


def _decode_message(full_name: str, data: bytes) -> Message:
    message = _MESSAGES[full_name]()
    message.ParseFromString(data)
    return message


def _reduce_message(message: Message) -> tuple[Any, ...]:
    return (_decode_message, (message.DESCRIPTOR.full_name, message.SerializeToString()))


def _restore_dataclass(cls: type[Any], values: dict[str, Any]) -> Any:
    return cls(**values)


def _dataclass_reducer(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Pickle a state dataclass as its class and its public fields, caches dropped.

    Positional when the private (cache) fields come last: (cls, values) is the
    smallest form and rebuilt by a plain constructor call (measured here about
    a third faster and smaller than pickle's default for slots classes).
    """
    fields = [f for f in dataclasses.fields(cls) if f.init]
    public = [f.name for f in fields if not f.name.startswith("_")]
    positional = [f.name for f in fields][: len(public)] == public
    getter = operator.attrgetter(*public)
    if positional and len(public) > 1:
        return lambda obj: (cls, getter(obj))

    def by_name(obj: Any) -> tuple[Any, ...]:
        return (_restore_dataclass, (cls, {name: getattr(obj, name) for name in public}))

    return by_name


def _dispatch_table() -> dict[type, Any]:
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    for message_class in _MESSAGES.values():
        table[message_class] = _reduce_message
    for cls in (DaemonSetState, NodeState, PodState, RevisionRecord):
        table[cls] = _dataclass_reducer(cls)
    return table


_DISPATCH = _dispatch_table()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    # Millions of small objects made or walked in one go: the cyclic collector
    # would run again and again over them for nothing (a state has no garbage).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def dumps_state(state: ClusterState) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    with _no_gc():
        pickler.dump(state)
    return buffer.getvalue()


def read_header(path: Path) -> SnapshotInfo | None:
    try:
        with path.open("rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(f.read(8), "big")
            header = json.loads(f.read(size))
        return SnapshotInfo(path, int(header["seq"]), str(header["fingerprint"]),
                            str(header["stream"]), int(header["version"]),
                            float(header["time"]))
    except (OSError, ValueError, KeyError):
        return None


def read_state(path: Path) -> ClusterState:
    with path.open("rb") as f:
        f.read(len(MAGIC))
        size = int.from_bytes(f.read(8), "big")
        f.seek(size, os.SEEK_CUR)
        with _no_gc():
            state = pickle.load(f)
    if not isinstance(state, ClusterState):
        raise ValueError(f"{path}: not a ClusterState")
    return state


def list_snapshots(log_path: str | os.PathLike[str]) -> list[SnapshotInfo]:
    """Snapshots beside the log, newest first (unreadable files skipped)."""
    directory = snapshot_dir(log_path)
    if not directory.is_dir():
        return []
    infos = [info for p in directory.glob(f"state-*{SUFFIX}") if (info := read_header(p))]
    return sorted(infos, key=lambda i: i.seq, reverse=True)


async def _event_at(source: LogSource, seq: int) -> events_pb2.Event | None:
    async for batch in source.iterate(seq - 1, until_seq=seq, batch=1):
        for event in batch:
            if event.seq == seq:
                return event
    return None


async def is_valid(source: LogSource, info: SnapshotInfo, head: int | None = None) -> bool:
    if info.fingerprint != fingerprint():
        return False
    if info.seq == 0:
        return True
    if head is None:
        head = await source.head()
    if info.seq > head:
        return False
    event = await _event_at(source, info.seq)
    return event is not None and _anchor(event) == {
        "stream": info.stream, "version": info.version, "time": info.time}


async def write_snapshot(
    source: LogSource,
    log_path: str | os.PathLike[str],
    state: ClusterState,
    *,
    keep: int = DEFAULT_KEEP,
) -> Path:
    """Store `state` beside the log (atomically) and prune all but the `keep` newest.

    The state is pickled before the first await, so it is the state as it is
    now even if the caller's feed folds more while the file is written.
    """
    seq = state.seq
    data_state = dumps_state(state)
    anchor = await _event_at(source, seq) if seq > 0 else None
    header = {"fingerprint": fingerprint(), "seq": seq,
              **(_anchor(anchor) if anchor is not None else
                 {"stream": "", "version": 0, "time": 0.0})}
    head = json.dumps(header).encode()
    blob = MAGIC + len(head).to_bytes(8, "big") + head + data_state
    directory = snapshot_dir(log_path)
    target = directory / f"state-{seq:012d}{SUFFIX}"
    await asyncio.to_thread(_write_atomically, directory, target, blob)
    _prune(log_path, target, keep)
    return target


def _prune(log_path: str | os.PathLike[str], written: Path, keep: int) -> None:
    """Keep `written` and the `keep - 1` newest others this code could use; drop the rest.

    Files of another fingerprint are dropped (this code never reads them), and
    the file just written is never pruned: by seq alone, snapshots of another
    log with higher seqs (the log file was replaced) would push it out at once.
    """
    ours = fingerprint()
    kept = 1
    for info in list_snapshots(log_path):
        if info.path == written:
            continue
        if info.fingerprint == ours and kept < keep:
            kept += 1
            continue
        info.path.unlink(missing_ok=True)


def _write_atomically(directory: Path, target: Path, blob: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


async def load_snapshot(
    source: LogSource, log_path: str | os.PathLike[str] | None, *, max_seq: int | None = None
) -> ClusterState | None:
    """The newest valid snapshot's state (at most `max_seq`; no tail folded), or None."""
    if log_path is None or not has_file(log_path):
        return None
    head = await source.head()
    for info in list_snapshots(log_path):
        if max_seq is not None and info.seq > max_seq:
            continue
        if not await is_valid(source, info, head):
            continue
        try:
            return await asyncio.to_thread(read_state, info.path)
        except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError):
            continue  # a damaged or foreign file: try the next one
    return None


async def load_state(
    source: LogSource, log_path: str | os.PathLike[str] | None, *, until_seq: int | None = None
) -> ClusterState:
    """The folded state at the head (or `until_seq`): newest valid snapshot + the tail."""
    snapshot = await load_snapshot(source, log_path, max_seq=until_seq)
    return await fold_to(source, At(seq=until_seq), snapshot)


class SnapshotTask:
    """Writes a snapshot every `every` events folded by a feed; meant for a plane's task group.

    Pickling holds the event loop (the state must not change meanwhile): about
    2 s for 200,000 pods on a busy 2-core machine. So after a snapshot that took
    d seconds the next waits at least `PAUSE_FACTOR * d` seconds, which keeps
    that pause under 1 % of the plane's time however big the state grows.
    `feed` is a ctrlplane.controller.feed.StateFeed (typed loosely to keep
    this module below the controller).

    It counts from `start_seq`, the seq of the snapshot the feed's state was
    loaded from (default: the feed's state as given, before it folds: 0 for
    none). Never from the newest file in the directory: that one may be of
    other code or another log and ignored, and counting from it would keep
    this task from ever writing a snapshot the next start can use.
    """

    PAUSE_FACTOR = 100.0

    def __init__(self, feed: Any, log_path: str | os.PathLike[str], *,
                 every: int = DEFAULT_EVERY, keep: int = DEFAULT_KEEP,
                 start_seq: int | None = None) -> None:
        self.feed = feed
        self.log_path = log_path
        self.every = every
        self.keep = keep
        # The seq of the newest usable snapshot: the one loaded, then each written.
        self.last_seq: int = feed.state.seq if start_seq is None else start_seq
        self.last_duration = 0.0  # seconds the last write held the loop
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        await self.feed.ready.wait()
        loop = asyncio.get_running_loop()
        while True:
            await self.feed.wait_for(lambda: self.feed.state.seq >= self.last_seq + self.every)
            await asyncio.sleep(self.PAUSE_FACTOR * self.last_duration)
            start = loop.time()
            await self.write_now()
            self.last_duration = loop.time() - start

    async def write_now(self) -> None:
        """Snapshot the feed's state now (a plane calls this on a graceful stop)."""
        async with self._lock:
            state = self.feed.state
            seq = state.seq
            if seq == self.last_seq:
                return
            # write_snapshot pickles before its first await: the file holds `seq`.
            await write_snapshot(self.feed.store, self.log_path, state, keep=self.keep)
            self.last_seq = seq
