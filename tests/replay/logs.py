"""Build event logs in memory for replay tests: facts by hand, decisions by the real reconcile.

`LogBuilder` plays the parts of users, agents and the controller without a
plane: ctrlplane/controller/scenario.Scenario numbers, stamps and folds the
events (seq, per-stream version), and `controller_pass`
runs today's reconcile on the folded state and records its decisions with
cause_seq and time, exactly as ctrlplane/controller/loop.py appends them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.controller.reconcile import reconcile
from ctrlplane.controller.scenario import Scenario
from ctrlplane.controller.scope import Work, add_work, work_for
from ctrlplane.domain.revisions import template_hash
from ctrlplane.domain.state import ClusterState
from ctrlplane.domain.streams import daemon_set_stream, node_stream

NS = "default"


def daemon_set(
    name: str = "fluentd",
    *,
    image: str = "fluentd:v1",
    node_selector: dict[str, str] | None = None,
    generation: int = 1,
    max_unavailable: str = "1",
    max_surge: str = "0",
    strategy: str = "RollingUpdate",
) -> objects_pb2.DaemonSet:
    ds = objects_pb2.DaemonSet(api_version="apps/v1", kind="DaemonSet")
    ds.metadata.name = name
    ds.metadata.namespace = NS
    ds.metadata.generation = generation
    ds.spec.selector.match_labels["app"] = name
    template = ds.spec.template
    template.metadata.labels["app"] = name
    container = template.spec.containers.add()
    container.name = name
    container.image = image
    container.command.extend(["sleep", "infinity"])
    template.spec.restart_policy = "Always"
    for key, value in (node_selector or {}).items():
        template.spec.node_selector[key] = value
    ds.spec.update_strategy.type = strategy
    if strategy == "RollingUpdate":
        ds.spec.update_strategy.rolling_update.max_unavailable = max_unavailable
        ds.spec.update_strategy.rolling_update.max_surge = max_surge
    ds.spec.revision_history_limit = 10
    return ds


def node(name: str, labels: dict[str, str] | None = None) -> objects_pb2.Node:
    n = objects_pb2.Node(api_version="v1", kind="Node")
    n.metadata.name = name
    for key, value in (labels or {}).items():
        n.metadata.labels[key] = value
    return n


class LogBuilder:
    """A Scenario (which numbers, stamps and folds the events) plus the facts and
    controller passes the replay tests write, and the live loop's dirty work."""

    def __init__(self, start: float = 1_764_400_000.0) -> None:
        self.scenario = Scenario(start)
        # What the live loop would have to look at since its last pass: the
        # loop's own translation of each event's Touched (controller/scope.py).
        self.dirty: Work = {}

    @property
    def events(self) -> list[events_pb2.Event]:
        return self.scenario.events

    @property
    def state(self) -> ClusterState:
        return self.scenario.state

    @property
    def time(self) -> float:
        return self.scenario.now

    def add(
        self, stream: str, payload: events_pb2.Event, actor: str, *, cause_seq: int = 0
    ) -> events_pb2.Event:
        touched = self.scenario.emit(stream, payload, actor=actor, cause_seq=cause_seq)
        for key, nodes in work_for(self.state, [touched]).items():
            add_work(self.dirty, key, nodes)
        return self.events[-1]

    def tick(self, seconds: float = 1.0) -> None:
        self.scenario.advance(seconds)

    # ---- facts ------------------------------------------------------------

    def apply(self, ds: objects_pb2.DaemonSet, cause: str = "") -> events_pb2.Event:
        payload = events_pb2.Event()
        payload.daemon_set_applied.daemon_set.CopyFrom(ds)
        payload.daemon_set_applied.template_hash = template_hash(ds.spec.template)
        payload.daemon_set_applied.change_cause = cause
        return self.add(
            daemon_set_stream(ds.metadata.namespace, ds.metadata.name), payload, "user:test"
        )

    def register(self, name: str, labels: dict[str, str] | None = None) -> events_pb2.Event:
        payload = events_pb2.Event()
        payload.node_registered.node.CopyFrom(node(name, labels))
        return self.add(node_stream(name), payload, "user:test")

    def connect(self, name: str) -> events_pb2.Event:
        payload = events_pb2.Event()
        payload.node_connected.node_name = name
        return self.add(node_stream(name), payload, f"agent:{name}")

    def lose(self, name: str) -> events_pb2.Event:
        payload = events_pb2.Event()
        payload.node_lost.node_name = name
        payload.node_lost.lease_expired_at = self.time
        return self.add(node_stream(name), payload, f"agent:{name}")

    def label(self, name: str, labels: dict[str, str]) -> events_pb2.Event:
        payload = events_pb2.Event()
        payload.node_labels_changed.node_name = name
        for key, value in labels.items():
            payload.node_labels_changed.labels[key] = value
        return self.add(node_stream(name), payload, "user:test")

    def taint(self, name: str, key: str, value: str, effect: str) -> events_pb2.Event:
        payload = events_pb2.Event()
        payload.node_taints_changed.node_name = name
        payload.node_taints_changed.taints.add(key=key, value=value, effect=effect)
        return self.add(node_stream(name), payload, "user:test")

    def report(
        self, pod: str, node_name: str, *, phase: str = "Running", ready: bool = True
    ) -> events_pb2.Event:
        payload = events_pb2.Event()
        r = payload.pod_status_reported
        r.namespace = NS
        r.pod_name = pod
        r.node_name = node_name
        r.phase = phase
        r.ready = ready
        return self.add(node_stream(node_name), payload, f"agent:{node_name}")

    def report_all_ready(self) -> None:
        """Every pod not yet Running+ready reports so (as simulated agents would)."""
        for pod in sorted(self.state.pods.values(), key=lambda p: p.key):
            if not (pod.phase == "Running" and pod.ready) and not pod.static:
                self.report(pod.key[1], pod.node_name)

    # ---- the controller ---------------------------------------------------

    def controller_pass(self, nodes: Iterable[str] | None = None) -> list[events_pb2.Event]:
        """One pass over every daemon set (limited to `nodes`), appended like the live loop."""
        work: Work = {key: None if nodes is None else set(nodes) for key in self.state.daemon_sets}
        return self._pass(work)

    def incremental_pass(self) -> list[events_pb2.Event]:
        """What the live loop does: only the sets and nodes touched since the last pass."""
        return self._pass(self.dirty)

    def _pass(self, work: Work) -> list[events_pb2.Event]:
        cause = self.state.seq
        decisions = []
        for key, nodes in sorted(work.items()):
            decisions.extend(reconcile(self.state, key, self.time, nodes=nodes).decisions)
        self.dirty = {}
        return [self.add(d.stream, d.payload, "controller", cause_seq=cause) for d in decisions]

    def settle(self, rounds: int = 20) -> None:
        """Controller passes and ready reports until nothing changes."""
        for _ in range(rounds):
            self.tick(1.0)
            made = self.controller_pass()
            before = len(self.events)
            self.report_all_ready()
            if not made and len(self.events) == before:
                return
        raise AssertionError("log did not settle")
