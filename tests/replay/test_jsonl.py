"""The JSONL form: stable keys, exact round trip, import into a real store."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ctrlplane.replay.jsonl import (
    JsonlError,
    event_from_line,
    event_to_dict,
    event_to_line,
    read_lines,
    write_events,
)
from replay.logs import LogBuilder, daemon_set


def small_log() -> LogBuilder:
    log = LogBuilder()
    log.register("n1", {"disk": "ssd"})
    log.tick(0.125)
    log.apply(daemon_set(node_selector={"disk": "ssd"}), cause="first")
    log.label("n1", {"disk": "ssd", "zone": "a"})
    log.report("fluentd-x", "n1")
    return log


def test_line_has_the_documented_keys() -> None:
    event = small_log().events[1]
    obj = json.loads(event_to_line(event))
    assert list(obj) == ["seq", "stream", "version", "type", "time", "actor", "causeSeq", "event"]
    assert obj["type"] == "DaemonSetApplied"
    assert obj["stream"] == "daemonset/default/fluentd"
    assert obj["event"]["daemonSet"]["spec"]["template"]["spec"]["nodeSelector"] == {
        "disk": "ssd"}
    assert obj["event"]["changeCause"] == "first"


def test_round_trip_is_exact() -> None:
    events = small_log().events
    out = io.StringIO()
    assert write_events(events, out) == len(events)
    back = list(read_lines(out.getvalue().splitlines()))
    assert back == events
    assert [e.SerializeToString(deterministic=True) for e in back] == [
        e.SerializeToString(deterministic=True) for e in events]


def test_unknown_keys_are_ignored() -> None:
    event = small_log().events[0]
    obj = event_to_dict(event)
    obj["comment"] = "added by a newer writer"
    assert event_from_line(json.dumps(obj)) == event


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("not json", "not JSON", id="not-json"),
        pytest.param("[1]", "expected a JSON object", id="not-object"),
        pytest.param('{"seq": 1, "type": "Nope"}', "unknown event type", id="unknown-type"),
        pytest.param('{"seq": 1, "type": "NodeCordoned", "event": {"nodeNam": "x"}}',
                     "nodeNam", id="unknown-field"),
    ],
)
def test_bad_lines_name_their_line(line: str, message: str) -> None:
    with pytest.raises(JsonlError, match=message) as err:
        list(read_lines(["", line]))
    assert err.value.line_no == 2


def test_seq_must_increase() -> None:
    events = small_log().events
    lines = [event_to_line(events[1]), event_to_line(events[0])]
    with pytest.raises(JsonlError, match="does not follow"):
        list(read_lines(lines))


async def test_import_into_sqlite_keeps_every_envelope(tmp_path: Path) -> None:
    from ctrlplane.eventlog.sqlite import SqliteEventStore
    from ctrlplane.replay.jsonl import export_jsonl, import_jsonl

    events = small_log().events
    text = "".join(event_to_line(e) + "\n" for e in events)
    store = await SqliteEventStore.open(str(tmp_path / "events.db"))
    try:
        assert await import_jsonl(store, text.splitlines()) == len(events)
        assert await store.read(0) == events
        out = io.StringIO()
        await export_jsonl(store.iterate(0), out)
        assert out.getvalue() == text
        with pytest.raises(ValueError, match="empty"):
            await import_jsonl(store, text.splitlines())
    finally:
        await store.close()


async def test_import_refuses_a_range(tmp_path: Path) -> None:
    from ctrlplane.eventlog.sqlite import SqliteEventStore
    from ctrlplane.replay.jsonl import import_jsonl

    events = small_log().events[1:]
    store = await SqliteEventStore.open(str(tmp_path / "events.db"))
    try:
        with pytest.raises(JsonlError, match="from seq 1"):
            await import_jsonl(store, [event_to_line(e) for e in events])
    finally:
        await store.close()


def test_a_line_does_not_depend_on_map_order() -> None:
    from ctrlplane._proto.v1 import events_pb2

    one, two = events_pb2.Event(seq=1), events_pb2.Event(seq=1)
    one.node_labels_changed.labels.update({"zone": "b", "disk": "ssd", "arch": "arm"})
    for key in ("arch", "disk", "zone"):
        two.node_labels_changed.labels[key] = one.node_labels_changed.labels[key]
    line = event_to_line(one)
    assert line == event_to_line(two)
    assert '"labels":{"arch":"arm","disk":"ssd","zone":"b"}' in line
