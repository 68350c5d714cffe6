"""Given these events folded, at this time, then exactly these decisions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set, taint
from ctrlplane.domain.streams import daemon_set_stream

from .summary import summary

KEY = ("default", "logs")


def running(nodes: dict[str, dict[str, str]], ds: objects_pb2.DaemonSet | None = None) -> Scenario:
    """Nodes registered, the set applied with its pods scheduled and ready."""
    s = Scenario()
    for name, labels in nodes.items():
        s.register(name, labels)
    s.apply(ds if ds is not None else daemon_set("logs"))
    s.step("logs")
    s.ready_all()
    s.step("logs")  # RolloutCompleted
    return s


SSD = {"a": {"disk": "ssd"}, "b": {"disk": "hdd"}, "c": {"disk": "ssd"}}


def test_apply_schedules_on_matching_nodes_only() -> None:
    s = Scenario()
    for name, labels in SSD.items():
        s.register(name, labels)
    s.apply(daemon_set("logs", node_selector={"disk": "ssd"}))
    result = s.reconcile("logs")
    assert summary(result.decisions) == [
        ("schedule", "a", "NodeEligible"),
        ("schedule", "c", "NodeEligible"),
    ]
    assert {d.stream for d in result.decisions} == {daemon_set_stream(*KEY)}
    assert result.wake_at is None
    pod = result.decisions[0].payload.pod_scheduled
    assert pod.pod_name.startswith("logs-")
    assert pod.revision == 1
    assert pod.revision_hash == s.state.daemon_sets[KEY].template_hash


Change = Callable[[Scenario], object]


@pytest.mark.parametrize(
    ("change", "nodes", "expected"),
    [
        pytest.param(
            lambda s: s.register("d", {"disk": "ssd"}),
            ["d"],
            [("schedule", "d", "NodeEligible")],
            id="node-joins-matching",
        ),
        pytest.param(
            lambda s: s.register("d", {"disk": "hdd"}), ["d"], [], id="node-joins-not-matching"
        ),
        pytest.param(
            lambda s: s.label("a", {"disk": "hdd"}),
            ["a"],
            [("delete", "a", "NodeIneligible")],
            id="relabel-removes",
        ),
        pytest.param(
            lambda s: s.label("b", {"disk": "ssd"}),
            ["b"],
            [("schedule", "b", "NodeEligible")],
            id="relabel-adds",
        ),
        pytest.param(
            lambda s: s.set_taints("a", [taint("maintenance", "", "NoSchedule")]),
            ["a"],
            [],
            id="taint-noschedule-keeps-running-pod",
        ),
        pytest.param(
            lambda s: s.set_taints("a", [taint("maintenance", "", "NoExecute")]),
            ["a"],
            [("delete", "a", "NodeIneligible")],
            id="taint-noexecute-evicts",
        ),
        pytest.param(
            lambda s: s.set_taints("a", [taint("node.kubernetes.io/unreachable", "", "NoExecute")]),
            ["a"],
            [],
            id="default-toleration-unreachable",
        ),
        pytest.param(
            lambda s: s.emit(
                "node/a", events_pb2.Event(node_cordoned=events_pb2.NodeCordoned(node_name="a"))
            ),
            ["a"],
            [],
            id="cordon-is-ignored",
        ),
        pytest.param(
            lambda s: s.delete_daemon_set("logs"),
            None,
            [("delete", "a", "DaemonSetDeleted"), ("delete", "c", "DaemonSetDeleted")],
            id="delete-daemon-set",
        ),
        pytest.param(
            lambda s: s.delete_node("c"),
            ["c"],
            [("delete", "c", "NodeIneligible")],
            id="node-deleted",
        ),
    ],
)
def test_changes(change: Change, nodes: list[str] | None, expected: list[tuple[str, ...]]) -> None:
    s = running(SSD, daemon_set("logs", node_selector={"disk": "ssd"}))
    change(s)
    assert summary(s.reconcile("logs", nodes).decisions) == expected
    # the incremental pass and the full pass agree
    assert summary(s.reconcile("logs").decisions) == expected


def test_taint_noschedule_blocks_new_pods() -> None:
    s = Scenario()
    s.register("a", {"disk": "ssd"}, taints=[taint("dedicated", "db", "NoSchedule")])
    s.apply(daemon_set("logs"))
    # nothing to run anywhere: the rollout is complete at once
    assert summary(s.reconcile("logs").decisions) == [("completed", "1")]
    tolerant = daemon_set(
        "logs", tolerations=[objects_pb2.Toleration(key="dedicated", operator="Exists")]
    )
    s.apply(tolerant)
    assert summary(s.reconcile("logs").decisions) == [("schedule", "a", "NodeEligible")]


def test_failed_pod_back_off_doubles_per_failure() -> None:
    s = running({"a": {}})
    waits = []
    for _ in range(4):
        pod = s.pod_on("logs", "a")
        s.report(pod, phase="Failed", ready=False)
        failed_at = s.now
        result = s.reconcile("logs")
        assert result.decisions == []
        assert result.wake_at is not None
        waits.append(result.wake_at - failed_at)
        s.at(result.wake_at - 0.5)
        assert s.reconcile("logs").decisions == []
        s.at(result.wake_at)
        step = s.step("logs")
        assert summary(step.decisions) == [
            ("delete", "a", "Failed"),
            ("schedule", "a", "ReplaceFailed"),
        ]
        s.advance(0.1)
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_back_off_is_capped_at_fifteen_minutes() -> None:
    s = running({"a": {}})
    for _ in range(12):
        s.report(s.pod_on("logs", "a"), phase="Failed", ready=False)
        wake = s.reconcile("logs").wake_at
        assert wake is not None
        s.at(wake).step("logs")
    s.report(s.pod_on("logs", "a"), phase="Failed", ready=False)
    wake = s.reconcile("logs").wake_at
    assert wake == s.now + 900.0


def test_delete_requested_pod_is_replaced() -> None:
    s = running({"a": {}, "b": {}})
    s.request_delete(s.pod_on("logs", "a"))
    assert summary(s.reconcile("logs", ["a"]).decisions) == [
        ("delete", "a", "UserRequested"),
        ("schedule", "a", "NodeEligible"),
    ]


def test_duplicates_keep_the_oldest_available() -> None:
    s = running({"a": {}})
    first = s.pod_on("logs", "a")
    # a stale second controller's decision slipped in: two pods on one node
    ds = s.state.daemon_sets[KEY]
    s.emit(
        daemon_set_stream(*KEY),
        events_pb2.Event(
            pod_scheduled=events_pb2.PodScheduled(
                namespace="default",
                daemon_set="logs",
                pod_name="logs-dup00",
                node_name="a",
                revision_hash=ds.template_hash,
                revision=ds.revision,
            )
        ),
        actor="controller",
    )
    result = s.reconcile("logs", ["a"])
    assert summary(result.decisions) == [("delete", "a", "Duplicate")]
    assert result.decisions[0].payload.pod_deleted.pod_name == "logs-dup00"
    assert s.pod_on("logs", "a") == first


def test_pod_names_are_deterministic_and_unique() -> None:
    def names() -> list[str]:
        s = Scenario()
        for i in range(300):
            s.register(f"n{i:03}")
        s.apply(daemon_set("logs"))
        return [d.payload.pod_scheduled.pod_name for d in s.reconcile("logs").decisions]

    first = names()
    assert first == names()
    assert len(set(first)) == 300


def _anti_affinity_to_self(topology_key: str) -> objects_pb2.Affinity:
    affinity = objects_pb2.Affinity()
    term = affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution.add()
    term.label_selector.match_labels["app"] = "logs"
    term.topology_key = topology_key
    return affinity


def test_anti_affinity_counts_pods_scheduled_earlier_in_the_pass() -> None:
    s = Scenario()
    for name, zone in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b"), ("c1", "c")):
        s.register(name, {"zone": zone})
    s.apply(daemon_set("logs", affinity=_anti_affinity_to_self("zone")))
    result = s.step("logs", nodes=["a2"])  # required pod affinity: every node is looked at
    assert summary(result.decisions) == [
        ("schedule", "a1", "NodeEligible"),
        ("schedule", "b1", "NodeEligible"),
        ("schedule", "c1", "NodeEligible"),
    ]
    assert s.reconcile("logs").decisions == []
    # a new zone-b node: its domain already has a pod, so nothing runs there
    s.register("b3", {"zone": "b"})
    assert s.reconcile("logs", ["b3"]).decisions == []


def test_pod_affinity_to_a_static_pod() -> None:
    s = Scenario()
    s.register("n1", {"kubernetes.io/hostname": "n1"})
    s.register("n2", {"kubernetes.io/hostname": "n2"})
    affinity = objects_pb2.Affinity()
    term = affinity.pod_affinity.required_during_scheduling_ignored_during_execution.add()
    term.label_selector.match_labels["component"] = "etcd"
    term.topology_key = "kubernetes.io/hostname"
    s.apply(daemon_set("logs", affinity=affinity))
    assert summary(s.reconcile("logs").decisions) == [("completed", "1")]
    mirror = objects_pb2.Pod()
    mirror.metadata.name = "etcd-n2"
    mirror.metadata.labels["component"] = "etcd"
    touched = s.static_pod("n2", mirror)
    assert touched.pods_changed
    assert summary(s.reconcile("logs").decisions) == [("schedule", "n2", "NodeEligible")]
