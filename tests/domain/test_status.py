"""DaemonSet status counters and pod objects, computed from the fold at a given time."""

from __future__ import annotations

import pytest

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set, taint
from ctrlplane.domain.errors import NotFound
from ctrlplane.domain.pods import DAEMON_SET_ANNOTATION, REVISION_HASH_ANNOTATION, pod_object
from ctrlplane.domain.status import daemon_set_status

KEY = ("default", "logs")


def _running() -> Scenario:
    s = Scenario()
    for name, disk in (("a", "ssd"), ("b", "hdd"), ("c", "ssd")):
        s.register(name, {"disk": disk})
    s.apply(daemon_set("logs", node_selector={"disk": "ssd"}, min_ready_seconds=10))
    s.step("logs")
    s.ready_all()
    return s


def test_counters_with_min_ready_seconds() -> None:
    s = _running()
    status = daemon_set_status(s.state, KEY, s.now)
    assert (status.desired_number_scheduled, status.current_number_scheduled) == (2, 2)
    assert (status.number_ready, status.number_available, status.number_unavailable) == (2, 0, 2)
    assert status.updated_number_scheduled == 2
    assert status.observed_generation == 1
    assert (status.current_revision, status.current_revision_hash) == (
        1,
        s.state.daemon_sets[KEY].template_hash,
    )
    later = daemon_set_status(s.state, KEY, s.now + 10)
    assert (later.number_available, later.number_unavailable) == (2, 0)


def test_misscheduled_and_lost() -> None:
    s = _running()
    s.set_taints("a", [taint("maintenance", "", "NoSchedule")])  # keeps its pod
    s.lose("c")
    status = daemon_set_status(s.state, KEY, s.now + 10)
    assert status.desired_number_scheduled == 1
    assert status.number_misscheduled == 1
    assert (status.number_ready, status.number_available, status.number_unavailable) == (0, 0, 1)


def test_updated_counts_after_a_new_template() -> None:
    s = _running()
    s.apply(daemon_set("logs", image="x:2", node_selector={"disk": "ssd"}, min_ready_seconds=10))
    s.pause("logs")
    status = daemon_set_status(s.state, KEY, s.now)
    assert status.updated_number_scheduled == 0
    assert status.current_revision == 2
    assert status.paused
    assert "Paused" in [c.type for c in status.conditions]


def test_unknown_or_deleted_is_not_found() -> None:
    s = _running()
    with pytest.raises(NotFound):
        daemon_set_status(s.state, ("default", "nope"), s.now)
    s.delete_daemon_set("logs")
    with pytest.raises(NotFound):
        daemon_set_status(s.state, KEY, s.now)


def test_pod_object_is_kubernetes_shaped() -> None:
    s = _running()
    name = s.pod_on("logs", "a")
    s.report(name, ready=True, restart_count=3)
    pod = pod_object(s.state, s.state.pods[("default", name)])
    assert (pod.api_version, pod.kind, pod.metadata.name) == ("v1", "Pod", name)
    assert pod.metadata.annotations[DAEMON_SET_ANNOTATION] == "logs"
    assert (
        pod.metadata.annotations[REVISION_HASH_ANNOTATION] == s.state.daemon_sets[KEY].template_hash
    )
    assert pod.metadata.labels["app"] == "logs"
    assert pod.spec.node_name == "a"
    assert pod.spec.containers[0].name == "logs"
    assert pod.status.phase == "Running"
    assert [(c.type, c.status) for c in pod.status.conditions] == [("Ready", "True")]
    assert pod.status.container_statuses[0].restart_count == 3
    s.lose("a")
    lost = pod_object(s.state, s.state.pods[("default", name)])
    assert [(c.type, c.status) for c in lost.status.conditions] == [("Ready", "Unknown")]


def test_pod_object_of_a_static_pod() -> None:
    s = Scenario()
    s.register("n1")
    mirror = objects_pb2.Pod()
    mirror.metadata.name = "web-n1"
    mirror.spec.containers.add(name="web", image="nginx")
    s.static_pod("n1", mirror)
    pod = pod_object(s.state, s.state.pods[("default", "web-n1")])
    assert (pod.kind, pod.spec.node_name, pod.metadata.namespace) == ("Pod", "n1", "default")
    assert pod.metadata.annotations["ctrlplane.io/static"] == "true"
