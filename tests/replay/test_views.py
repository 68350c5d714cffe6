"""Time travel views and diffs over small logs, without the CLI around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import fold
from ctrlplane.domain.streams import daemon_set_stream
from ctrlplane.replay.diff import Range, diff_range, diff_views, render_diff
from ctrlplane.replay.sources import JsonlSource
from ctrlplane.replay.timetravel import At, fold_to
from ctrlplane.replay.view import Filter, cluster_view, render_text
from replay.logs import NS, LogBuilder, daemon_set
from replay.scenarios import rollout_log, save


@pytest.mark.parametrize(
    ("text", "at"),
    [
        pytest.param("42", At(seq=42), id="seq"),
        pytest.param("@1764400000.5", At(time=1764400000.5), id="unix-seconds"),
        pytest.param("2025-11-29T07:06:40Z", At(time=1764400000.0), id="iso-utc"),
        pytest.param("2025-11-29T08:06:40+01:00", At(time=1764400000.0), id="iso-offset"),
    ],
)
def test_at_parses(text: str, at: At) -> None:
    assert At.parse(text) == at


def test_a_deleted_set_is_shown_as_deleted_with_no_pods() -> None:
    log = LogBuilder()
    log.register("n0")
    log.apply(daemon_set())
    log.settle()
    payload = events_pb2.Event(daemon_set_deleted=events_pb2.DaemonSetDeleted(
        namespace=NS, name="fluentd"))
    log.add(daemon_set_stream(NS, "fluentd"), payload, "user:test")
    log.settle()
    view = cluster_view(log.state)
    assert [(d["name"], d["deleted"]) for d in view["daemonSets"]] == [("fluentd", True)]
    assert view["pods"] == []
    assert "deleted" in render_text(view)


async def test_fold_to_a_seq_equals_a_fold_of_the_prefix(tmp_path: Path) -> None:
    events = rollout_log().events
    source = JsonlSource(save(events, tmp_path / "log.jsonl"))
    for seq in (0, 1, len(events) // 2, len(events)):
        assert await fold_to(source, At(seq=seq)) == fold(events[:seq])
    middle = events[len(events) // 2]
    assert await fold_to(source, At(time=middle.time)) == fold(
        [e for e in events if e.time <= middle.time])


async def test_diff_of_a_rollout(tmp_path: Path) -> None:
    events = rollout_log().events
    applied = [e for e in events if e.WhichOneof("kind") == "daemon_set_applied"]
    source = JsonlSource(save(events, tmp_path / "log.jsonl"))
    d = await diff_range(source, Range.parse(f"{applied[1].seq - 1}..{len(events)}"))
    [ds] = d["daemonSets"]
    assert ds["revision"] == [1, 2]
    assert "-    image: fluentd:v1" in ds["templateDiff"]
    assert "+    image: fluentd:v2" in ds["templateDiff"]
    assert sorted((p["change"], p["node"]) for p in d["pods"]) == [
        ("replaced", "n0"), ("replaced", "n1")]
    assert d["events"][0]["seq"] == applied[1].seq
    assert {e["actor"] for e in d["events"]} == {"user:test", "controller", "agent:n0",
                                                 "agent:n1"}
    assert "replaced on n0" in render_diff(d)
    # Filtered to a node: only its pods and its events.
    d = await diff_range(source, Range.parse(f"{applied[1].seq - 1}..{len(events)}"),
                         Filter.parse(["node/n1"]))
    assert {p["node"] for p in d["pods"]} == {"n1"}
    assert all("n1" in e["stream"] or "n1" in e["summary"] for e in d["events"])


def test_a_pod_that_moved_and_one_that_changed_status() -> None:
    before = {"seq": 1, "time": 1.0, "daemonSets": [], "nodes": [], "pods": [
        {"namespace": "default", "name": "p", "node": "a", "daemonSet": "", "revision": 0,
         "phase": "Running", "ready": True},
        {"namespace": "default", "name": "q", "node": "b", "daemonSet": "default/x",
         "revision": 1, "phase": "Pending", "ready": False},
    ]}
    after = {**before, "seq": 2, "pods": [
        {**before["pods"][0], "node": "c"},
        {**before["pods"][1], "phase": "Running", "ready": True},
    ]}
    d = diff_views(before, after, [])
    assert d["pods"] == [
        {"change": "moved", "pod": "p", "from": "a", "to": "c"},
        {"change": "status", "pod": "q", "node": "b", "from": "Pending/not ready",
         "to": "Running/ready"},
    ]


@pytest.mark.parametrize(
    ("effect", "pods_after", "words"),
    [
        pytest.param("NoSchedule", 1, "a running one is kept", id="no-schedule-keeps"),
        pytest.param("NoExecute", 0, "not tolerated", id="no-execute-evicts"),
    ],
)
async def test_explain_a_taint(
    tmp_path: Path, effect: str, pods_after: int, words: str
) -> None:
    from ctrlplane.replay.explain import explain_node, render_explanation
    from ctrlplane.replay.timetravel import HEAD

    log = LogBuilder()
    log.register("n0")
    log.connect("n0")
    log.apply(daemon_set())
    log.settle()
    log.taint("n0", "dedicated", "db", effect)
    log.settle()
    source = JsonlSource(save(log.events, tmp_path / "log.jsonl"))
    explanation = await explain_node(source, "n0", "fluentd", HEAD)
    assert explanation.now is not None
    assert explanation.now["rule"] == "Taint"
    assert len(explanation.now["pods"]) == pods_after
    text = render_explanation(explanation)
    assert "NodeTaintsChanged" in text
    assert words in text
