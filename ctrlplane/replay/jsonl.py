"""The stable JSONL form of the event log: export and import.

One JSON object per line, oldest first, one line per event:

    {"seq": 12, "stream": "daemonset/default/fluentd", "version": 3,
     "type": "PodScheduled", "time": 1764441000.25, "actor": "controller",
     "causeSeq": 11, "event": {...}}

- `seq`, `version`, `causeSeq` are JSON integers; `time` is unix seconds as a
  JSON number (Python's float repr, so it round-trips exactly).
- `type` is the event kind's message name (`event_type`), `event` is that
  message in protobuf's JSON mapping (`MessageToDict`, lowerCamelCase field
  names, int64 as strings, default values omitted), with object keys sorted
  at every level (maps have no order; sorted keys make a line a function of
  the event).
- Readers must ignore keys they do not know; writers never rename these keys.
  The protobuf bytes stay the canonical form: an import re-encodes `event`
  with the same schema, so the events compare equal to the originals.

This module converts between `Event` and a line, and streams whole logs in
and out of an EventStore. It never changes a seq: an import goes into an
empty store and must start at seq 1 without gaps, so that every `causeSeq`
still points at the event it meant.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Iterator
from typing import IO, Any

from google.protobuf import json_format

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.streams import event_type
from ctrlplane.eventlog.base import EventStore, NewEvent

# Message name ("PodScheduled") -> oneof field name ("pod_scheduled").
_KIND_FIELDS: dict[str, str] = {
    field.message_type.name: field.name
    for field in events_pb2.Event.DESCRIPTOR.oneofs_by_name["kind"].fields
    if field.message_type is not None
}


class JsonlError(ValueError):
    """A line that is not a valid event, with its line number."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no


def event_to_dict(event: events_pb2.Event) -> dict[str, Any]:
    kind = event.WhichOneof("kind")
    if kind is None:
        raise ValueError(f"event seq {event.seq} has no kind set")
    return {
        "seq": event.seq,
        "stream": event.stream,
        "version": event.version,
        "type": event_type(event),
        "time": event.time,
        "actor": event.actor,
        "causeSeq": event.cause_seq,
        "event": _sorted(json_format.MessageToDict(getattr(event, kind))),
    }


def _sorted(value: Any) -> Any:
    """Object keys in sorted order, all the way down.

    Protobuf maps (labels, nodeSelector) have no order, and two equal messages
    may iterate them differently: sorting makes a line a function of the event,
    so exports are byte-for-byte reproducible and diffable.
    """
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def event_to_line(event: events_pb2.Event) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"), sort_keys=False)


def event_from_dict(obj: dict[str, Any]) -> events_pb2.Event:
    type_name = obj.get("type")
    field_name = _KIND_FIELDS.get(type_name) if isinstance(type_name, str) else None
    if field_name is None:
        raise ValueError(f"unknown event type {type_name!r}")
    event = events_pb2.Event(
        seq=int(obj.get("seq", 0)),
        stream=str(obj.get("stream", "")),
        version=int(obj.get("version", 0)),
        time=float(obj.get("time", 0.0)),
        actor=str(obj.get("actor", "")),
        cause_seq=int(obj.get("causeSeq", 0)),
    )
    body = obj.get("event", {})
    if not isinstance(body, dict):
        raise ValueError("'event' must be a JSON object")
    try:
        json_format.ParseDict(body, getattr(event, field_name))
    except json_format.ParseError as exc:
        raise ValueError(f"{type_name}: {exc}") from exc
    # ParseDict of an empty object leaves the oneof unset; select it anyway.
    getattr(event, field_name).SetInParent()
    return event


def event_from_line(line: str, line_no: int = 0) -> events_pb2.Event:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonlError(line_no, f"not JSON: {exc.msg}") from exc
    if not isinstance(obj, dict):
        raise JsonlError(line_no, "expected a JSON object")
    try:
        return event_from_dict(obj)
    except (ValueError, TypeError) as exc:
        raise JsonlError(line_no, str(exc)) from exc


def read_lines(lines: Iterable[str]) -> Iterator[events_pb2.Event]:
    """Parse JSONL lines (blank lines skipped), checking seq is increasing."""
    last = 0
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        event = event_from_line(line, line_no)
        if event.seq <= last:
            raise JsonlError(line_no, f"seq {event.seq} does not follow {last}")
        last = event.seq
        yield event


def write_events(events: Iterable[events_pb2.Event], out: IO[str]) -> int:
    count = 0
    for event in events:
        out.write(event_to_line(event))
        out.write("\n")
        count += 1
    return count


async def export_jsonl(
    batches: AsyncIterable[list[events_pb2.Event]], out: IO[str]
) -> int:
    """Write every event of `batches` (e.g. `store.iterate(...)`) as JSONL; return the count."""
    count = 0
    async for batch in batches:
        count += write_events(batch, out)
    return count


async def import_jsonl(store: EventStore, lines: Iterable[str], *, batch: int = 5_000) -> int:
    """Append a whole recorded log to an EMPTY store, keeping seq, versions and envelopes.

    Raises JsonlError when the file does not start at seq 1 or has gaps, and
    ConcurrencyError (from the store) when a stream's versions do not line up.
    Returns the number of events appended.
    """
    if await store.head() != 0:
        raise ValueError("import needs an empty event log")
    pending: list[NewEvent] = []
    expected: dict[str, int] = {}
    count = 0

    async def flush() -> None:
        nonlocal pending, expected
        if pending:
            await store.append(pending, expected)
        pending, expected = [], {}

    for event in read_lines(lines):
        count += 1
        if event.seq != count:
            raise JsonlError(count, f"expected seq {count}, found {event.seq}: import needs a "
                             "whole log from seq 1 without gaps")
        # The version before this batch's first event of the stream; the store
        # checks it, so a file with doctored versions is refused, not renumbered.
        expected.setdefault(event.stream, event.version - 1)
        payload = events_pb2.Event()
        payload.CopyFrom(event)
        for name in ("seq", "stream", "version", "time", "actor", "cause_seq"):
            payload.ClearField(name)
        pending.append(NewEvent(stream=event.stream, payload=payload, actor=event.actor,
                                time=event.time, cause_seq=event.cause_seq))
        if len(pending) >= batch:
            await flush()
    await flush()
    return count
