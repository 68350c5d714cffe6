"""Pure tests of dsctl's rendering of plans, rollout messages, diffs and events."""

from __future__ import annotations

import pytest

from ctrlplane._proto.v1 import api_pb2, events_pb2, objects_pb2
from ctrlplane.cli.events_cmd import HEADER, event_line, summary
from ctrlplane.cli.plan import render_plan
from ctrlplane.cli.rollout import status_message, template_diff
from ctrlplane.cli.watch import Changes


def ds_status(generation: int = 2, observed: int = 2, desired: int = 4, updated: int = 4,
              available: int = 4) -> objects_pb2.DaemonSet:
    ds = objects_pb2.DaemonSet()
    ds.metadata.name = "x"
    ds.metadata.generation = generation
    st = ds.status
    st.observed_generation, st.desired_number_scheduled = observed, desired
    st.updated_number_scheduled, st.number_available = updated, available
    return ds


@pytest.mark.parametrize(
    ("ds", "message", "done"),
    [
        pytest.param(ds_status(generation=3), "Waiting for daemon set spec update to be "
                     "observed...", False, id="not-observed"),
        pytest.param(ds_status(updated=1), 'Waiting for daemon set "x" rollout to finish: 1 out '
                     "of 4 new pods have been updated...", False, id="updating"),
        pytest.param(ds_status(available=3), 'Waiting for daemon set "x" rollout to finish: 3 of '
                     "4 updated pods are available...", False, id="becoming-available"),
        pytest.param(ds_status(), 'daemon set "x" successfully rolled out', True, id="done"),
    ],
)
def test_status_message_as_kubectl(ds: objects_pb2.DaemonSet, message: str, done: bool) -> None:
    assert status_message(ds) == (message, done)


def revision(number: int, image: str) -> api_pb2.Revision:
    rev = api_pb2.Revision(revision=number)
    rev.template.spec.containers.add(name="c", image=image)
    return rev


def test_template_diff() -> None:
    diff = template_diff(revision(1, "a:1"), revision(2, "a:2"))
    assert diff.startswith("--- revision 1\n+++ revision 2\n")
    assert "-  - image: a:1\n" in diff
    assert "+  - image: a:2\n" in diff
    assert template_diff(revision(1, "a"), revision(3, "a")) == ""


def test_render_plan_lists_changes_but_not_kept_nodes() -> None:
    reply = api_pb2.PlanResponse(generation=4, changed=True, diff="-a\n+b\n")
    reply.changes.add(node_name="n2", action="delete", pod_name="x-2", reason="NodeIneligible")
    reply.changes.add(node_name="n1", action="create", reason="NodeEligible", score=10)
    reply.changes.add(node_name="n3", action="keep", pod_name="x-3")
    text = render_plan("x", reply)
    assert text.splitlines() == [
        '+/- DaemonSet: "x"',
        "  -a",
        "  +b",
        "",
        "Scheduler dry-run:",
        "- nodes: 1 create, 1 delete, 1 keep",
        "    + n1: create (NodeEligible) [score 10]",
        "    - n2: delete pod x-2 (NodeIneligible)",
    ]


@pytest.mark.parametrize(
    ("reply", "head"),
    [
        pytest.param(api_pb2.PlanResponse(created=True, changed=True),
                     '+ DaemonSet: "x" (create)', id="create"),
        pytest.param(api_pb2.PlanResponse(generation=2), 'DaemonSet: "x" (no changes)',
                     id="unchanged"),
    ],
)
def test_render_plan_heads(reply: api_pb2.PlanResponse, head: str) -> None:
    assert render_plan("x", reply).splitlines()[0] == head


def test_event_line_and_summary() -> None:
    event = events_pb2.Event(seq=14, stream="daemonset/default/x", time=1_800_000_000.5,
                             actor="controller", cause_seq=13)
    event.pod_scheduled.pod_name = "x-1"
    event.pod_scheduled.node_name = "n1"
    assert summary(event) == "podName=x-1 nodeName=n1"
    line = event_line(event)
    assert line.split() == ["14", "2027-01-15T08:00:00.500Z", "controller", "daemonset/default/x",
                            "PodScheduled", "podName=x-1", "nodeName=n1", "cause=13"]
    assert HEADER.split()[:5] == ["SEQ", "TIME", "ACTOR", "STREAM", "TYPE"]
    applied = events_pb2.Event(seq=1, stream="daemonset/default/x", actor="user:me")
    applied.daemon_set_applied.daemon_set.metadata.name = "x"
    applied.daemon_set_applied.daemon_set.metadata.generation = 2
    assert summary(applied) == "daemonSet=x@2"


def test_watch_prints_changed_new_and_deleted_rows_but_not_older_ages() -> None:
    header = ["NAME", "READY", "STATUS", "AGE"]
    changes = Changes(header, [(("default", "a"), ["a", "0/1", "Pending", "1s"]),
                               (("default", "b"), ["b", "1/1", "Running", "1s"])])
    assert changes.update([(("default", "a"), ["a", "0/1", "Pending", "9s"]),
                           (("default", "b"), ["b", "1/1", "Running", "9s"])]) == []
    assert changes.update([(("default", "a"), ["a", "1/1", "Running", "10s"]),
                           (("default", "c"), ["c", "0/1", "Pending", "0s"])]) == [
        ["a", "1/1", "Running", "10s"],
        ["c", "0/1", "Pending", "0s"],
        ["b (deleted)", "1/1", "Running", "9s"],
    ]
