"""Logs written by hand: build facts, fold them, run reconcile, fold its decisions.

Owns the small vocabulary given/when/then tests, benchmarks and golden logs use
to write a history without a server: `Scenario` numbers events (seq, per-stream
version), stamps them with its own notion of now, folds them into a
ClusterState and keeps the list. `daemon_set(...)` builds an apps/v1-shaped
DaemonSet with the defaults the manifests would have given it. Pure: time is
whatever the scenario is told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.controller.decisions import Decision, ReconcileResult
from ctrlplane.controller.reconcile import reconcile
from ctrlplane.domain.revisions import rollback_target, rolled_back_daemon_set, template_hash
from ctrlplane.domain.state import ClusterState, DsKey, Touched
from ctrlplane.domain.streams import (
    DEFAULT_NAMESPACE,
    daemon_set_stream,
    namespace_or_default,
    node_stream,
)

USER = "user:test"
CONTROLLER = "controller"


def daemon_set(
    name: str,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    image: str = "example/agent:1",
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    strategy: str = "RollingUpdate",
    max_unavailable: str = "1",
    max_surge: str = "0",
    min_ready_seconds: int = 0,
    progress_deadline_seconds: int = 0,
    auto_rollback: bool = False,
    revision_history_limit: int | None = None,
    tolerations: Sequence[objects_pb2.Toleration] = (),
    affinity: objects_pb2.Affinity | None = None,
    generation: int = 1,
) -> objects_pb2.DaemonSet:
    labels = dict(labels or {"app": name})
    ds = objects_pb2.DaemonSet(api_version="apps/v1", kind="DaemonSet")
    ds.metadata.name = name
    ds.metadata.namespace = namespace
    ds.metadata.generation = generation
    spec = ds.spec
    spec.selector.match_labels.update(labels)
    spec.template.metadata.labels.update(labels)
    spec.template.spec.restart_policy = "Always"
    spec.template.spec.containers.add(name=name, image=image, command=["sleep", "infinity"])
    spec.template.spec.node_selector.update(node_selector or {})
    spec.template.spec.tolerations.extend(tolerations)
    if affinity is not None:
        spec.template.spec.affinity.CopyFrom(affinity)
    spec.update_strategy.type = strategy
    if strategy == "RollingUpdate":
        spec.update_strategy.rolling_update.max_unavailable = max_unavailable
        spec.update_strategy.rolling_update.max_surge = max_surge
    spec.min_ready_seconds = min_ready_seconds
    spec.progress_deadline_seconds = progress_deadline_seconds
    spec.auto_rollback = auto_rollback
    if revision_history_limit is not None:
        spec.revision_history_limit = revision_history_limit
    return ds


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> objects_pb2.Taint:
    return objects_pb2.Taint(key=key, value=value, effect=effect)


class Scenario:
    """A growing log and its fold. `now` only moves when told (`at`, `advance`)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.state = ClusterState()
        self.events: list[events_pb2.Event] = []
        self.versions: dict[str, int] = {}
        self.now = start

    # ---- time ------------------------------------------------------------

    def at(self, t: float) -> Scenario:
        self.now = t
        return self

    def advance(self, seconds: float) -> Scenario:
        self.now += seconds
        return self

    # ---- the log ---------------------------------------------------------

    def emit(
        self,
        stream: str,
        payload: events_pb2.Event,
        *,
        actor: str = USER,
        cause_seq: int = 0,
    ) -> Touched:
        event = events_pb2.Event()
        event.CopyFrom(payload)
        event.seq = len(self.events) + 1
        event.stream = stream
        version = self.versions.get(stream, 0) + 1
        self.versions[stream] = version
        event.version = version
        event.time = self.now
        event.actor = actor
        event.cause_seq = cause_seq
        self.events.append(event)
        return self.state.apply(event)

    def record(self, decisions: Iterable[Decision]) -> list[Touched]:
        """Append a reconcile's decisions as the controller would (cause_seq = head)."""
        cause = len(self.events)
        return [
            self.emit(d.stream, d.payload, actor=CONTROLLER, cause_seq=cause) for d in decisions
        ]

    def reconcile(self, key: DsKey | str, nodes: Iterable[str] | None = None) -> ReconcileResult:
        k = (DEFAULT_NAMESPACE, key) if isinstance(key, str) else key
        return reconcile(self.state, k, self.now, nodes=None if nodes is None else set(nodes))

    def step(self, key: DsKey | str, nodes: Iterable[str] | None = None) -> ReconcileResult:
        """Reconcile and record the decisions."""
        result = self.reconcile(key, nodes)
        self.record(result.decisions)
        return result

    def converge(self, key: DsKey | str, limit: int = 50) -> None:
        """Reconcile and record until there is nothing left to decide at this time."""
        for _ in range(limit):
            if not self.step(key).decisions:
                return
        raise AssertionError(f"no fixpoint after {limit} passes")

    # ---- daemon sets -----------------------------------------------------

    def apply(self, ds: objects_pb2.DaemonSet, change_cause: str = "") -> Touched:
        key = (namespace_or_default(ds.metadata.namespace), ds.metadata.name)
        current = self.state.daemon_sets.get(key)
        applied = objects_pb2.DaemonSet()
        applied.CopyFrom(ds)
        if current is not None and not current.deleted:
            applied.metadata.generation = current.obj.metadata.generation + 1
        return self.emit(
            daemon_set_stream(*key),
            events_pb2.Event(
                daemon_set_applied=events_pb2.DaemonSetApplied(
                    daemon_set=applied,
                    template_hash=template_hash(applied.spec.template),
                    change_cause=change_cause,
                )
            ),
        )

    def undo(self, name: str, to_revision: int = 0, namespace: str = DEFAULT_NAMESPACE) -> Touched:
        ds = self.state.daemon_sets[(namespace, name)]
        record = rollback_target(ds, to_revision)
        payload = rolled_back_daemon_set(ds, record, "user")
        return self.emit(
            daemon_set_stream(namespace, name), events_pb2.Event(daemon_set_rolled_back=payload)
        )

    def delete_daemon_set(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Touched:
        return self.emit(
            daemon_set_stream(namespace, name),
            events_pb2.Event(
                daemon_set_deleted=events_pb2.DaemonSetDeleted(namespace=namespace, name=name)
            ),
        )

    def pause(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Touched:
        return self.emit(
            daemon_set_stream(namespace, name),
            events_pb2.Event(
                daemon_set_paused=events_pb2.DaemonSetPaused(namespace=namespace, name=name)
            ),
        )

    def resume(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Touched:
        return self.emit(
            daemon_set_stream(namespace, name),
            events_pb2.Event(
                daemon_set_resumed=events_pb2.DaemonSetResumed(namespace=namespace, name=name)
            ),
        )

    # ---- nodes -----------------------------------------------------------

    def register(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        taints: Sequence[objects_pb2.Taint] = (),
    ) -> Touched:
        node = objects_pb2.Node(api_version="v1", kind="Node")
        node.metadata.name = name
        node.metadata.labels.update(labels or {})
        node.spec.taints.extend(taints)
        return self.emit(
            node_stream(name),
            events_pb2.Event(node_registered=events_pb2.NodeRegistered(node=node)),
        )

    def label(self, name: str, labels: Mapping[str, str]) -> Touched:
        return self.emit(
            node_stream(name),
            events_pb2.Event(
                node_labels_changed=events_pb2.NodeLabelsChanged(node_name=name, labels=labels)
            ),
        )

    def set_taints(self, name: str, taints: Sequence[objects_pb2.Taint]) -> Touched:
        return self.emit(
            node_stream(name),
            events_pb2.Event(
                node_taints_changed=events_pb2.NodeTaintsChanged(node_name=name, taints=taints)
            ),
        )

    def lose(self, name: str) -> Touched:
        return self.emit(
            node_stream(name),
            events_pb2.Event(
                node_lost=events_pb2.NodeLost(node_name=name, lease_expired_at=self.now)
            ),
            actor="controller",
        )

    def connect(self, name: str) -> Touched:
        return self.emit(
            node_stream(name),
            events_pb2.Event(node_connected=events_pb2.NodeConnected(node_name=name)),
            actor=f"agent:{name}",
        )

    def delete_node(self, name: str) -> Touched:
        return self.emit(
            node_stream(name),
            events_pb2.Event(node_deleted=events_pb2.NodeDeleted(node_name=name)),
        )

    # ---- pods ------------------------------------------------------------

    def pod_on(self, ds_name: str, node: str, namespace: str = DEFAULT_NAMESPACE) -> str:
        """The name of the (oldest) pod of that set on that node."""
        ds = self.state.daemon_sets[(namespace, ds_name)]
        pods = self.state.daemon_pods_on_node(ds, node)
        if not pods:
            raise KeyError(f"no pod of {ds_name} on {node}")
        return min(pods, key=lambda p: p.scheduled_seq).key[1]

    def report(
        self,
        pod_name: str,
        phase: str = "Running",
        ready: bool = True,
        restart_count: int = 0,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> Touched:
        pod = self.state.pods[(namespace, pod_name)]
        return self.emit(
            node_stream(pod.node_name),
            events_pb2.Event(
                pod_status_reported=events_pb2.PodStatusReported(
                    namespace=namespace,
                    pod_name=pod_name,
                    node_name=pod.node_name,
                    phase=phase,
                    ready=ready,
                    restart_count=restart_count,
                )
            ),
            actor=f"agent:{pod.node_name}",
        )

    def ready_all(self, ds_name: str | None = None) -> None:
        """Every pod (of that set) that is not ready reports Running and ready."""
        for pod in sorted(self.state.pods.values(), key=lambda p: p.key):
            if pod.static or pod.ready or pod.phase == "Failed":
                continue
            if ds_name is not None and (pod.owner is None or pod.owner[1] != ds_name):
                continue
            self.report(pod.key[1], namespace=pod.key[0])

    def request_delete(self, pod_name: str, namespace: str = DEFAULT_NAMESPACE) -> Touched:
        pod = self.state.pods[(namespace, pod_name)]
        assert pod.owner is not None
        return self.emit(
            daemon_set_stream(*pod.owner),
            events_pb2.Event(
                pod_delete_requested=events_pb2.PodDeleteRequested(
                    namespace=namespace, pod_name=pod_name
                )
            ),
        )

    def static_pod(self, node: str, pod: objects_pb2.Pod) -> Touched:
        return self.emit(
            node_stream(node),
            events_pb2.Event(
                static_pod_reported=events_pb2.StaticPodReported(node_name=node, pod=pod)
            ),
            actor=f"agent:{node}",
        )
