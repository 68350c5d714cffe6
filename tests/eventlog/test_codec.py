"""The fast row decoder equals the obvious one, for any envelope values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.streams import event_type
from ctrlplane.eventlog import EventLogError
from ctrlplane.eventlog.codec import decode_row_slow, decode_rows, payload_data

PAYLOADS = [
    events_pb2.Event(node_cordoned=events_pb2.NodeCordoned()),  # an empty kind still counts
    events_pb2.Event(
        pod_status_reported=events_pb2.PodStatusReported(
            namespace="default", pod_name="fluentd-x", node_name="n1", phase="Running", ready=True
        )
    ),
    events_pb2.Event(node_labels_changed=events_pb2.NodeLabelsChanged(labels={"é": "ü" * 300})),
]

text = st.text(max_size=300)
row = st.tuples(
    st.integers(1, 2**62),
    text | text.map(str.encode),
    st.integers(1, 2**62),
    st.floats(allow_nan=False),
    text | text.map(str.encode),
    st.integers(0, 2**62),
    st.sampled_from([payload_data(p)[1] for p in PAYLOADS]),
)


# No deadline: the machine running the suite is shared and its timing is not ours.
@settings(deadline=None)
@given(st.lists(row, max_size=20))
def test_fast_decoding_equals_the_reference(rows: list[tuple[object, ...]]) -> None:
    assert decode_rows(rows) == [decode_row_slow(r) for r in rows]


def test_a_broken_row_names_its_seq() -> None:
    with pytest.raises(EventLogError, match="event 7 "):
        decode_rows([(7, "s", 1, 0.0, "a", 0, b"\xff\xff")])


def test_payload_data_names_the_type_and_drops_the_envelope() -> None:
    event = events_pb2.Event(seq=5, stream="x", time=3.0, node_cordoned=events_pb2.NodeCordoned())
    type_name, data = payload_data(event)
    assert type_name == "NodeCordoned"
    assert events_pb2.Event.FromString(data) == events_pb2.Event(
        node_cordoned=events_pb2.NodeCordoned()
    )


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(field.name, id=field.name)
        for field in events_pb2.Event.DESCRIPTOR.oneofs_by_name["kind"].fields
    ],
)
def test_every_kind_gets_the_type_name_of_event_type(kind: str) -> None:
    event = events_pb2.Event()
    getattr(event, kind).SetInParent()
    assert payload_data(event)[0] == event_type(event)
