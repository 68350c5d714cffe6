"""work_for: what a batch of folded events asks the controller to reconcile."""

from __future__ import annotations

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set
from ctrlplane.controller.scope import work_for


def _scenario() -> Scenario:
    s = Scenario()
    s.register("n1", {"zone": "a"})
    s.register("n2", {"zone": "b"})
    affinity = objects_pb2.Affinity()
    term = affinity.pod_affinity.required_during_scheduling_ignored_during_execution.add()
    term.label_selector.match_labels["app"] = "db"
    term.topology_key = "zone"
    s.apply(daemon_set("db"))
    s.apply(daemon_set("sidecar", affinity=affinity))
    for key in ("db", "sidecar"):
        s.step(key)
    return s


def test_a_node_fact_reaches_every_set_on_that_node() -> None:
    s = _scenario()
    touched = s.label("n1", {"zone": "a", "disk": "ssd"})
    work = work_for(s.state, [touched])
    assert work[("default", "db")] == {"n1"}
    # the pods on n1 are in a new domain now: sets with pod affinity look everywhere
    assert work[("default", "sidecar")] is None


def test_a_set_fact_means_every_node_and_batches_merge() -> None:
    s = _scenario()
    applied = s.apply(daemon_set("db", image="db:2"))
    reported = s.report(s.pod_on("db", "n2"))
    work = work_for(s.state, [reported, applied])
    assert work == {("default", "db"): None}


def test_pod_reports_stay_on_their_node() -> None:
    s = _scenario()
    work = work_for(s.state, [s.report(s.pod_on("db", "n1")), s.report(s.pod_on("db", "n2"))])
    assert work == {("default", "db"): {"n1", "n2"}}


def test_scheduling_a_pod_wakes_sets_with_required_pod_affinity() -> None:
    s = _scenario()
    s.register("n3", {"zone": "c"})
    touched = s.record(s.reconcile("db", ["n3"]).decisions)
    work = work_for(s.state, touched)
    assert work == {("default", "db"): {"n3"}, ("default", "sidecar"): None}
