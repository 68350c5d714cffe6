"""Rows to Events and back: the one place that knows how an event is stored.

A stored event is its payload's bytes (an Event with only `kind` set) plus
envelope columns. Reading must rebuild the full Event fast, because folds of a
million-event log go through here; it must not know what any event means.

The fast path writes the envelope's wire bytes by hand in front of the stored
payload and parses the whole Event in one C call; protobuf's wire format
allows that, as a message is the concatenation of its fields. Setting six
attributes one by one after parsing costs ~15-25 % more (measured here).
Each Event is parsed on its own on purpose: parsing a batch as one message is
~10 % faster still, but then every Event shares the batch's memory arena, and
a read model that keeps one sub-message would pin thousands of events.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.message import DecodeError

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.streams import event_type
from ctrlplane.eventlog.base import EventLogError

# The columns `decode_rows` takes, in order. Stream and actor may come as str or
# (with a bytes text_factory, which skips UTF-8 decoding) as bytes.
ROW_COLUMNS = "seq, stream, version, time, actor, cause_seq, data"

# The envelope's field numbers are 1..6; the first `kind` field is 10 (tag 0x52).
# Serialisation is in field-number order, so a first byte below this limit
# means the caller left envelope fields set.
_FIRST_KIND_TAG = 0x50
_ENVELOPE_FIELDS = ("seq", "stream", "version", "time", "actor", "cause_seq")


def payload_data(payload: events_pb2.Event) -> tuple[str, bytes]:
    """The type name and stored bytes of a payload; envelope fields are dropped.

    Raises ValueError when no `kind` is set.
    """
    type_name = event_type(payload)
    data = payload.SerializeToString()
    if data[0] < _FIRST_KIND_TAG:
        # Someone re-appends a read event (import, tests): store the kind only,
        # the envelope comes from the columns.
        bare = events_pb2.Event()
        bare.CopyFrom(payload)
        for name in _ENVELOPE_FIELDS:
            bare.ClearField(name)
        data = bare.SerializeToString()
    return type_name, data


def _varint_slow(n: int) -> bytes:
    if n < 0:
        raise ValueError(f"negative envelope value {n}")
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Canonical varints of 0..16383, and the two-byte "low 14 bits, more follows"
# prefixes used to extend them: seqs up to 2**28 cost one lookup and one concat.
_SMALL = 1 << 14
_VARINT = [_varint_slow(i) for i in range(_SMALL)]
_LOW14 = [bytes(((i & 0x7F) | 0x80, ((i >> 7) & 0x7F) | 0x80)) for i in range(_SMALL)]


def _varint(n: int) -> bytes:
    if n < _SMALL:
        return _VARINT[n] if n >= 0 else _varint_slow(n)
    if n < _SMALL * _SMALL:
        return _LOW14[n & 0x3FFF] + _VARINT[n >> 14]
    return _varint_slow(n)


_TIME = struct.Struct("<Bd").pack  # tag of field 4 (fixed64) and the double


def decode_rows(rows: Iterable[Sequence[Any]]) -> list[events_pb2.Event]:
    """Full Events from stored rows (`ROW_COLUMNS` order)."""
    out: list[events_pb2.Event] = []
    append = out.append
    parse = events_pb2.Event.FromString
    varint = _varint
    time_field = _TIME
    # Streams and actors repeat (a node's events, "controller"): encode each once.
    streams: dict[Any, bytes] = {}
    actors: dict[Any, bytes] = {}
    seq = 0
    try:
        for seq, stream, version, time, actor, cause_seq, data in rows:
            stream_field = streams.get(stream)
            if stream_field is None:
                raw = stream.encode() if isinstance(stream, str) else stream
                stream_field = streams[stream] = b"\x12" + varint(len(raw)) + raw
            actor_field = actors.get(actor)
            if actor_field is None:
                raw = actor.encode() if isinstance(actor, str) else actor
                actor_field = actors[actor] = b"\x2a" + varint(len(raw)) + raw
            append(
                parse(
                    b"".join(
                        (
                            b"\x08",
                            varint(seq),
                            stream_field,
                            b"\x18",
                            varint(version),
                            time_field(0x21, time),
                            actor_field,
                            b"\x30" + varint(cause_seq) if cause_seq else b"",
                            data,
                        )
                    )
                )
            )
    except DecodeError as error:
        raise EventLogError(f"event {seq} in the log does not decode: {error}") from error
    return out


def decode_row_slow(row: Sequence[Any]) -> events_pb2.Event:
    """The obvious decoding of one row; the reference the fast path is tested against."""
    seq, stream, version, time, actor, cause_seq, data = row
    event = events_pb2.Event.FromString(data)
    event.seq = seq
    event.stream = stream.decode() if isinstance(stream, bytes) else stream
    event.version = version
    event.time = time
    event.actor = actor.decode() if isinstance(actor, bytes) else actor
    event.cause_seq = cause_seq
    return event
