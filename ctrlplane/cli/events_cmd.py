"""dsctl events: read, follow and export the plane's event log.

`-o json` and `--export` write the log's stable JSONL form (one object a line:
seq, stream, version, type, time, actor, causeSeq, event), defined once in
ctrlplane.replay.jsonl so exports replay and import unchanged. The table is
for people: one line an event with a short summary of its fields.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from ctrlplane._proto.v1 import api_pb2, events_pb2
from ctrlplane.cli import output
from ctrlplane.cli.args import DAEMON_SETS, NODES, UsageError, resource
from ctrlplane.cli.client import Client, CliError, Subparsers, bind, common_parents
from ctrlplane.domain.streams import (
    daemon_set_stream,
    event_type,
    namespace_or_default,
    node_stream,
)

_SUMMARY_WIDTH = 100


def summary(event: events_pb2.Event) -> str:
    """The payload's scalar fields as k=v (nested objects by name/generation only)."""
    kind = event.WhichOneof("kind")
    if kind is None:
        return ""
    data = json_format.MessageToDict(getattr(event, kind))
    parts = []
    for key, value in data.items():
        if isinstance(value, dict):
            meta = value.get("metadata", {})
            if isinstance(meta, dict) and "name" in meta:
                generation = meta.get("generation")
                parts.append(f"{key}={meta['name']}" + (f"@{generation}" if generation else ""))
            elif value:
                parts.append(f"{key}={_short(value)}")
        elif isinstance(value, list):
            parts.append(f"{key}=[{','.join(_short(v) for v in value)}]")
        else:
            parts.append(f"{key}={value}")
    text = " ".join(parts)
    return text if len(text) <= _SUMMARY_WIDTH else text[: _SUMMARY_WIDTH - 3] + "..."


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, dict | list))
    return str(value)


def event_line(event: events_pb2.Event) -> str:
    """Fixed columns, so a followed log lines up without buffering a table."""
    cause = f" cause={event.cause_seq}" if event.cause_seq else ""
    return (
        f"{event.seq:>6}  {output.format_time(event.time)}  {event.actor:<18} "
        f"{event.stream:<30} {event_type(event):<22} {summary(event)}{cause}"
    ).rstrip()


HEADER = f"{'SEQ':>6}  {'TIME':<24}  {'ACTOR':<18} {'STREAM':<30} {'TYPE':<22} DETAILS"


def streams_of(words: Sequence[str], namespace: str) -> set[str]:
    """`ds/NAME` and `node/NAME` (kubectl forms) -> the log streams they name."""
    streams = set()
    for word in words:
        kind_word, sep, name = word.partition("/")
        if not sep or not name:
            raise UsageError(f"filter events by ds/NAME or node/NAME, not {word!r}")
        kind = resource(kind_word)
        if kind == DAEMON_SETS:
            streams.add(daemon_set_stream(namespace_or_default(namespace), name))
        elif kind == NODES:
            streams.add(node_stream(name))
        else:
            raise UsageError("pod events live in their daemon set's and node's streams: "
                             "filter by ds/NAME or node/NAME")
    return streams


def selected(
    events: Iterable[events_pb2.Event], streams: set[str], types: set[str]
) -> Iterator[events_pb2.Event]:
    for event in events:
        if streams and event.stream not in streams:
            continue
        if types and event_type(event) not in types:
            continue
        yield event


def cmd_events(client: Client, args: argparse.Namespace) -> int:
    # Imported here: it pulls in the event log's modules, which other commands never need.
    from ctrlplane.replay.jsonl import event_to_line

    request = api_pb2.ReadEventsRequest(after_seq=args.since, until_seq=args.until)
    streams = streams_of(args.objects, args.namespace)
    types = {t for t in args.type.split(",") if t} if args.type else set()
    if args.export:
        if streams or types:
            raise UsageError("--export writes whole log ranges (an import needs every seq); "
                             "drop the filters")
        return _export(client, request, args.export)
    # A cheap call first, so an unreachable plane is one error line, not a header and an error.
    client.events.Head(api_pb2.Empty(), metadata=client.metadata, timeout=client.timeout)
    if args.follow:
        events: Iterable[events_pb2.Event] = client.events.Follow(
            request, metadata=client.metadata
        )
    else:
        # No deadline: reading a long log may take longer than a unary call's.
        events = client.events.Read(request, metadata=client.metadata)
    if args.output == "json":
        for event in selected(events, streams, types):
            print(event_to_line(event), flush=args.follow)
        return 0
    print(HEADER, flush=args.follow)
    for event in selected(events, streams, types):
        print(event_line(event), flush=args.follow)
    return 0


def _export(client: Client, request: api_pb2.ReadEventsRequest, path: str) -> int:
    from ctrlplane.replay.jsonl import write_events

    if path == "-":
        write_events(client.events.Read(request, metadata=client.metadata), sys.stdout)
        return 0
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            count = write_events(client.events.Read(request, metadata=client.metadata), out)
        # Whole file or nothing: a failed export never leaves a truncated log behind.
        partial.replace(target)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    print(f"exported {count} events to {path}", file=sys.stderr)
    return 0


def register(subparsers: Subparsers) -> None:
    events = subparsers.add_parser(
        "events", parents=common_parents(), help="read, follow or export the event log",
        description="dsctl events [ds/NAME|node/NAME...] [--type T] [--since SEQ] "
        "[--until SEQ] [--follow] [-o json] [--export FILE.jsonl]",
    )
    events.add_argument("objects", nargs="*", metavar="ds/NAME|node/NAME",
                        help="only the events of these daemon sets and nodes")
    events.add_argument("-n", "--namespace", default="", help="namespace of ds/NAME filters")
    events.add_argument("--type", default="", metavar="TYPE[,TYPE]",
                        help="only these event types, e.g. PodScheduled,PodDeleted")
    events.add_argument("--since", type=int, default=0, metavar="SEQ",
                        help="only events after this seq")
    events.add_argument("--until", type=int, default=0, metavar="SEQ",
                        help="only events up to this seq (0: to the head)")
    events.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new events until interrupted")
    events.add_argument("-o", "--output", choices=("json",), default="",
                        help="json: one JSON object a line (the export format)")
    events.add_argument("--export", metavar="FILE.jsonl",
                        help="write the log (or --since/--until range) as JSONL")
    events.set_defaults(func=bind(cmd_events))
