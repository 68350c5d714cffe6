"""Properties of the fold and the replay, over random histories.

Histories are built by LogBuilder from random operations (nodes join, change
labels, get lost and come back; daemon sets applied with random selectors and
images; controller passes, full or incremental as the live loop makes them
from the events' Touched hints; agents report).
"""

from __future__ import annotations

import asyncio
import pickle
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import ClusterState, fold
from ctrlplane.replay.check import check_log
from ctrlplane.replay.snapshots import dumps_state
from ctrlplane.replay.sources import JsonlSource
from replay.logs import LogBuilder, daemon_set
from replay.scenarios import save

NODES = [f"n{i}" for i in range(4)]
LABELS = st.fixed_dictionaries({"disk": st.sampled_from(["ssd", "hdd"])},
                               optional={"zone": st.sampled_from(["a", "b"])})
APPLY = st.tuples(st.just("apply"), st.sampled_from(["fluentd", "exporter"]),
                  st.sampled_from(["v1", "v2", "v3"]), st.sampled_from([None, "ssd", "hdd"]),
                  st.sampled_from([("1", "0"), ("0", "1"), ("50%", "0")]))
OPS = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(NODES), LABELS),
    st.tuples(st.just("label"), st.sampled_from(NODES), LABELS),
    st.tuples(st.just("lose"), st.sampled_from(NODES)),
    st.tuples(st.just("connect"), st.sampled_from(NODES)),
    APPLY,
    st.tuples(st.just("pass"), st.sampled_from(["full", "incremental"])),
    st.tuples(st.just("report")),
)


def build(ops: list[tuple]) -> list[events_pb2.Event]:  # type: ignore[type-arg]
    log = LogBuilder()
    generations: dict[str, int] = {}
    for op in ops:
        log.tick(0.5)
        kind = op[0]
        if kind == "register" and op[1] not in log.state.nodes:
            log.register(op[1], op[2])
        elif kind == "label" and op[1] in log.state.nodes:
            log.label(op[1], op[2])
        elif kind == "lose" and op[1] in log.state.nodes:
            log.lose(op[1])
        elif kind == "connect" and op[1] in log.state.nodes:
            log.connect(op[1])
        elif kind == "apply":
            _, name, image, disk, (unavailable, surge) = op
            generations[name] = generations.get(name, 0) + 1
            log.apply(daemon_set(name, image=f"{name}:{image}",
                                 node_selector={"disk": disk} if disk else None,
                                 generation=generations[name], max_unavailable=unavailable,
                                 max_surge=surge))
        elif kind == "pass" and op[1] == "full":
            log.controller_pass()
        elif kind == "pass":
            log.incremental_pass()
        elif kind == "report":
            log.report_all_ready()
    return log.events


# Every history starts with a small cluster and a daemon set, so the random
# operations after it have something to act on.
START = st.tuples(
    st.lists(LABELS, min_size=2, max_size=4).map(
        lambda labels: [("register", f"n{i}", lab) for i, lab in enumerate(labels)]
    ),
    APPLY.map(lambda op: [op, ("pass", "full"), ("report",)]),
)
HISTORIES = st.tuples(START, st.lists(OPS, min_size=3, max_size=30)).map(
    lambda parts: build(parts[0][0] + parts[0][1] + parts[1])
)
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(HISTORIES)
def test_fold_is_deterministic(events: list[events_pb2.Event]) -> None:
    copies = [events_pb2.Event.FromString(e.SerializeToString()) for e in events]
    assert fold(events) == fold(copies)


@FAST
@given(HISTORIES, st.data())
def test_fold_of_a_concatenation_is_a_fold_of_folds(
    events: list[events_pb2.Event], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(events)))
    a, b = events[:cut], events[cut:]
    assert fold(a + b) == fold(b, fold(a))


@FAST
@given(HISTORIES, st.data())
def test_snapshot_plus_tail_is_a_full_fold(
    events: list[events_pb2.Event], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(events)))
    snapshot = pickle.loads(dumps_state(fold(events[:cut])))
    assert isinstance(snapshot, ClusterState)
    assert fold(events[cut:], snapshot) == fold(events)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HISTORIES)
def test_the_check_reproduces_every_history_the_controller_wrote(
    events: list[events_pb2.Event],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = JsonlSource(save(events, Path(tmp) / "log.jsonl"))
        report = asyncio.run(check_log(source))
    assert report.ok, report.text()
