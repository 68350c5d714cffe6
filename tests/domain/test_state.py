"""The fold: every event kind changes the state as the log says, and says what it touched."""

from __future__ import annotations

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set, taint
from ctrlplane.domain.state import REVISION_HASH_LABEL, ClusterState, Touched, fold

KEY = ("default", "agent")


def _scheduled() -> Scenario:
    s = Scenario()
    s.register("n1", {"zone": "a"})
    s.register("n2", {"zone": "b"})
    s.apply(daemon_set("agent"))
    s.step("agent")
    return s


def test_seq_and_time_follow_the_events() -> None:
    s = Scenario(start=50.0)
    s.register("n1")
    s.advance(5).register("n2")
    assert s.state.seq == 2
    assert s.state.time == 55.0
    assert s.state.nodes["n2"].registered_at == 55.0


def test_node_facts_update_node_and_label_index() -> None:
    s = Scenario()
    touched = s.register("n1", {"zone": "a", "disk": "ssd"})
    assert touched.all_daemon_sets
    assert touched.nodes == {"n1"}
    assert s.state.nodes_with_label("zone", "a") == {"n1"}
    s.label("n1", {"zone": "b"})
    assert dict(s.state.nodes["n1"].node.metadata.labels) == {"zone": "b"}
    assert s.state.nodes_with_label("zone", "a") == set()
    assert list(s.state.nodes_in_domain("zone", "b")) == ["n1"]
    assert "disk" not in s.state.nodes_by_label
    s.set_taints("n1", [taint("gpu", "yes", "NoExecute")])
    assert [t.key for t in s.state.nodes["n1"].node.spec.taints] == ["gpu"]
    assert s.state.nodes["n1"].version == 3


def test_lost_and_connected() -> None:
    s = _scheduled()
    s.lose("n1")
    node = s.state.nodes["n1"]
    assert node.lost
    assert not node.connected
    assert s.state.lost_nodes == {"n1"}
    touched = s.connect("n1")
    assert not node.lost
    assert node.connected
    assert not s.state.lost_nodes
    assert touched.daemon_sets == {KEY}


def test_apply_creates_revision_one_and_reapply_is_no_new_revision() -> None:
    s = Scenario()
    s.apply(daemon_set("agent"))
    ds = s.state.daemon_sets[KEY]
    assert (ds.revision, len(ds.revisions), ds.version) == (1, 1, 1)
    s.apply(daemon_set("agent", max_unavailable="2"))
    assert (ds.revision, len(ds.revisions), ds.version) == (1, 1, 2)
    assert ds.obj.metadata.generation == 2


def test_pod_scheduled_indexes_the_pod() -> None:
    s = _scheduled()
    ds = s.state.daemon_sets[KEY]
    assert set(ds.pods_by_node) == {"n1", "n2"}
    name = s.pod_on("agent", "n1")
    pod = s.state.pods[("default", name)]
    assert pod.owner == KEY
    assert pod.revision == 1
    assert pod.labels == {"app": "agent", REVISION_HASH_LABEL: ds.template_hash}
    assert s.state.nodes["n1"].pods == {("default", name)}
    assert s.state.nodes["n1"].assignment_seq == pod.scheduled_seq
    assert s.state.scheduled_count[(KEY, "n1")] == 1
    assert ds.pod_count == 2
    assert ds.outdated_count == 0
    assert ds.version == 3  # applied + two PodScheduled decisions
    assert [p.owner for p in s.state.pods_on_node("n1")] == [KEY]


def test_pod_status_ready_since_and_failures() -> None:
    s = _scheduled()
    name = s.pod_on("agent", "n1")
    pod = s.state.pods[("default", name)]
    s.advance(3).report(name, ready=True)
    assert pod.ready
    assert pod.ready_since == 1003.0
    assert pod.phase == "Running"
    s.advance(1).report(name, ready=True, restart_count=2)
    assert pod.ready_since == 1003.0
    assert pod.restart_count == 2
    s.report(name, phase="Failed", ready=False)
    s.report(name, phase="Failed", ready=False)  # a repeated report is one failure
    assert not pod.ready
    assert pod.ready_since is None
    assert s.state.failures[(KEY, "n1")].count == 1
    assert s.state.daemon_sets[KEY].ready_count == 0


def test_pod_deleted_and_delete_requested() -> None:
    s = _scheduled()
    name = s.pod_on("agent", "n1")
    s.request_delete(name)
    assert s.state.pods[("default", name)].delete_requested
    s.step("agent")  # deletes it and replaces it
    assert ("default", name) not in s.state.pods
    assert s.state.scheduled_count[(KEY, "n1")] == 2
    assert s.pod_on("agent", "n1") != name


def test_static_pods_are_reported_and_removed() -> None:
    s = Scenario()
    s.register("n1")
    mirror = objects_pb2.Pod(api_version="v1", kind="Pod")
    mirror.metadata.name = "etcd-n1"
    mirror.metadata.namespace = "kube-system"
    mirror.metadata.labels["component"] = "etcd"
    mirror.status.phase = "Running"
    mirror.status.conditions.add(type="Ready", status="True")
    touched = s.static_pod("n1", mirror)
    assert touched.pods_changed
    pod = s.state.pods[("kube-system", "etcd-n1")]
    assert pod.static
    assert pod.owner is None
    assert pod.labels == {"component": "etcd"}
    assert pod.ready
    s.emit(
        "node/n1",
        events_pb2.Event(
            static_pod_removed=events_pb2.StaticPodRemoved(
                node_name="n1", namespace="kube-system", pod_name="etcd-n1"
            )
        ),
    )
    assert ("kube-system", "etcd-n1") not in s.state.pods
    assert s.state.nodes["n1"].pods == set()


def test_deleted_node_orphans_pods_until_the_controller_deletes_them() -> None:
    s = _scheduled()
    name = s.pod_on("agent", "n2")
    s.delete_node("n2")
    assert "n2" not in s.state.nodes
    assert ("default", name) in s.state.pods
    result = s.step("agent")
    assert [d.payload.pod_deleted.pod_name for d in result.decisions] == [name]
    assert not s.state.orphan_pods


def test_pod_decided_before_its_node_was_deleted_comes_back_with_the_node() -> None:
    # given a set on n1 and a node n2 that had no pods yet
    s = Scenario()
    s.register("n1")
    s.apply(daemon_set("agent"))
    s.step("agent")
    s.register("n2")
    decided = s.reconcile("agent")
    assert [d.payload.pod_scheduled.node_name for d in decided.decisions] == ["n2"]
    # when n2 is deleted before the decision is folded, then registers again
    s.delete_node("n2")
    s.record(decided.decisions)
    s.register("n2")
    # then n2 holds its pod, and there is nothing left to decide
    name = decided.decisions[0].payload.pod_scheduled.pod_name
    assert s.state.nodes["n2"].pods == {("default", name)}
    assert [p.key[1] for p in s.state.node_pods("n2")] == [name]
    assert not s.state.orphan_pods
    assert s.reconcile("agent").decisions == []


def test_rollout_bookkeeping() -> None:
    s = _scheduled()
    s.ready_all()
    s.step("agent")
    ds = s.state.daemon_sets[KEY]
    assert ds.rollout_complete
    assert ds.completed_hash == ds.template_hash
    s.apply(daemon_set("agent", image="example/agent:2"))
    assert not ds.rollout_complete
    assert ds.completed_hash != ds.template_hash
    assert ds.outdated_count == 2
    s.pause("agent")
    assert ds.paused
    s.resume("agent")
    assert not ds.paused
    s.delete_daemon_set("agent")
    assert ds.deleted


def test_fold_is_deterministic_and_resumable() -> None:
    s = _scheduled()
    s.ready_all()
    s.lose("n2")
    events = s.events
    whole = fold(events)
    half = fold(events[:4])
    assert fold(events[4:], half) == whole
    assert fold(events) == whole == s.state
    assert whole != ClusterState()


def test_recreated_daemon_set_adopts_its_pods_with_a_fresh_history() -> None:
    s = _scheduled()
    s.apply(daemon_set("agent", image="example/agent:2"))
    s.delete_daemon_set("agent")
    s.apply(daemon_set("agent"))  # before the controller deleted anything
    ds = s.state.daemon_sets[KEY]
    assert not ds.deleted
    assert [r.revision for r in ds.revisions] == [1]
    assert ds.pod_count == 2
    assert s.reconcile("agent").decisions == []  # same template: the pods are kept


def test_late_reports_are_ignored() -> None:
    s = _scheduled()
    name = s.pod_on("agent", "n1")
    s.step("agent")
    before = fold(s.events)
    s.emit(
        "node/n2",
        events_pb2.Event(
            pod_status_reported=events_pb2.PodStatusReported(
                namespace="default", pod_name=name, node_name="n2", phase="Running", ready=True
            )
        ),
    )
    s.emit(
        "node/n1",
        events_pb2.Event(
            pod_status_reported=events_pb2.PodStatusReported(
                namespace="default", pod_name="agent-gone0", node_name="n1", phase="Running"
            )
        ),
    )
    assert not s.state.pods[("default", name)].ready
    assert s.state.pods == before.pods


def _every_kind() -> Scenario:
    """A history with every kind of event the fold handles, pod reports of every phase."""
    s = _scheduled()
    s.register("n3", {"zone": "a"})
    s.step("agent")
    n1, n2 = s.pod_on("agent", "n1"), s.pod_on("agent", "n2")
    s.advance(1).report(n1, ready=True)
    s.advance(1).report(n1, ready=True, restart_count=1)  # nothing but the count changes
    s.report(n2, phase="Failed", ready=False)
    s.advance(1).report(n2, phase="Failed", ready=False)
    s.step("agent")  # replaces the failed pod
    s.report(s.pod_on("agent", "n2"), phase="Succeeded", ready=True)
    s.report(n1, phase="", ready=False)  # no phase: keeps the last one
    s.label("n3", {"zone": "b"})
    s.set_taints("n3", [taint("gpu", "yes", "PreferNoSchedule")])
    s.emit("node/n3", events_pb2.Event(node_cordoned=events_pb2.NodeCordoned(node_name="n3")))
    s.emit("node/n3", events_pb2.Event(node_uncordoned=events_pb2.NodeUncordoned(node_name="n3")))
    s.emit(
        "node/n3", events_pb2.Event(node_disconnected=events_pb2.NodeDisconnected(node_name="n3"))
    )
    s.lose("n3")
    s.connect("n3")
    s.request_delete(n1)
    s.step("agent")
    mirror = objects_pb2.Pod(api_version="v1", kind="Pod")
    mirror.metadata.name = "etcd-n1"
    mirror.metadata.namespace = "kube-system"
    s.static_pod("n1", mirror)
    s.emit(
        "node/n1",
        events_pb2.Event(
            static_pod_removed=events_pb2.StaticPodRemoved(
                node_name="n1", namespace="kube-system", pod_name="etcd-n1"
            )
        ),
    )
    s.pause("agent")
    s.apply(daemon_set("agent", image="example/agent:2"))
    s.resume("agent")
    s.converge("agent")
    s.ready_all()
    s.converge("agent")
    s.undo("agent")
    failed = events_pb2.RolloutFailed(namespace="default", name="agent", reason="Deadline")
    s.emit("daemonset/default/agent", events_pb2.Event(rollout_failed=failed))
    s.delete_node("n2")
    s.step("agent")
    s.delete_daemon_set("agent")
    s.step("agent")
    return s


def test_quiet_fold_equals_the_live_fold_after_every_event() -> None:
    """apply_quiet (start-up fold, replay) and apply (live, with Touched) share the
    handlers; they must leave the same state at every seq."""
    s = _every_kind()
    live, quiet = ClusterState(), ClusterState()
    kinds = set()
    for event in s.events:
        kinds.add(event.WhichOneof("kind"))
        assert isinstance(live.apply(event), Touched)
        assert quiet.apply_quiet(event) is None  # type: ignore[func-returns-value]
        assert quiet == live, f"differs after seq {event.seq} ({event.WhichOneof('kind')})"
    assert live == s.state == fold(s.events)
    assert len(kinds) == 22, sorted(k for k in kinds if k)  # every kind in the table


def test_rollout_book_classifies_each_node_of_a_set() -> None:
    from ctrlplane.domain.rollout_book import (
        NEW_READY,
        NEW_UNREADY,
        OLD_READY,
        OTHER,
        recount,
        same,
    )

    s = _scheduled()
    ds = s.state.daemon_sets[KEY]
    assert ds.book.cls == {"n1": NEW_UNREADY, "n2": NEW_UNREADY}
    s.ready_all()
    assert ds.book.cls == {"n1": NEW_READY, "n2": NEW_READY}
    s.apply(daemon_set("agent", image="img:2", min_ready_seconds=10))
    assert ds.book.cls == {"n1": OLD_READY, "n2": OLD_READY}
    assert ds.book.old_ready_sorted == ["n1", "n2"]
    assert list(ds.book.recent(s.now, 10)) == ["n2", "n1"]  # ready at this instant
    assert list(ds.book.recent(s.now + 10, 10)) == []
    s.lose("n2")
    assert ds.book.cls == {"n1": OLD_READY, "n2": OTHER}
    assert same(ds.book, recount(s.state, ds)) == []
