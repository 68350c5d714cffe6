"""The folded read model of the whole cluster: daemon sets, nodes, pods.

`ClusterState.apply(event)` folds one event and says what it touched, so the
controller can work on what changed. Everything is derived from the log;
nothing here reads a clock (times come from the events). The indices kept
beside the objects (pods per node, pods per daemon set per node, nodes by
label value, pod counts per template hash, and per daemon set each node's
pod classified for the rolling-update planner: `DaemonSetState.book`, see
rollout_book.py) exist so reconcile can work in proportion to what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain.eligibility import CompiledSpec, compile_spec
from ctrlplane.domain.podaffinity import PodInfo
from ctrlplane.domain.rollout_book import RolloutBook
from ctrlplane.domain.streams import NODE_PREFIX, daemon_set_key

DsKey = tuple[str, str]  # (namespace, name)
PodKey = tuple[str, str]  # (namespace, pod name)

# Kubernetes garbage-collects a back-off entry after twice its maximum (15 min).
FAILURE_MEMORY_SECONDS = 2 * 15 * 60.0
REVISION_HASH_LABEL = "controller-revision-hash"


@dataclass(slots=True)
class RevisionRecord:
    """One distinct pod template of a daemon set, numbered by last use."""

    revision: int
    hash: str
    template: objects_pb2.PodTemplateSpec
    change_cause: str
    time: float


@dataclass(slots=True)
class DaemonSetState:
    key: DsKey
    obj: objects_pb2.DaemonSet  # as applied: metadata (generation), spec; status not kept here
    version: int  # version of the daemonset/<ns>/<name> stream
    template_hash: str
    revision: int  # the current revision number
    revisions: list[RevisionRecord]  # ascending revision; one per hash (re-apply moves it)
    created_at: float
    updated_at: float  # when the current template became current (rollout start)
    deleted: bool = False
    paused: bool = False
    last_progress_at: float = 0.0
    failed_hash: str = ""  # RolloutFailed recorded for this template hash
    completed_hash: str = ""  # the last template hash whose rollout completed
    pods_by_node: dict[str, set[str]] = field(default_factory=dict)  # node -> pod names
    rollout_complete: bool = False  # RolloutCompleted seen for the current template
    failed_reason: str = ""  # message of the RolloutFailed for failed_hash
    hash_counts: dict[str, int] = field(default_factory=dict)  # template hash -> live pods
    pod_count: int = 0
    ready_count: int = 0  # pods whose last report said ready (lost nodes not considered)
    # each node's pod classified for the rolling-update planner (rollout_book.py)
    book: RolloutBook = field(default_factory=RolloutBook, compare=False, repr=False)
    _compiled: tuple[str, CompiledSpec] | None = field(default=None, compare=False, repr=False)
    _labels: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def pod_labels(self, hash_: str) -> dict[str, str]:
        """The labels of this set's pods of that template (shared: never mutate them)."""
        labels = self._labels.get(hash_)
        if labels is None:
            record = self.record(hash_)
            if record is None:
                return {}
            labels = dict(record.template.metadata.labels)
            labels[REVISION_HASH_LABEL] = hash_
            self._labels[hash_] = labels
        return labels

    def compiled(self) -> CompiledSpec:
        """The current template's scheduling rules, compiled once per template."""
        cached = self._compiled
        if cached is None or cached[0] != self.template_hash:
            cached = (self.template_hash, compile_spec(self.key[0], self.obj.spec.template.spec))
            self._compiled = cached
        return cached[1]

    @property
    def outdated_count(self) -> int:
        """Pods whose template is not the current one (a rollout has work)."""
        return self.pod_count - self.hash_counts.get(self.template_hash, 0)

    def record(self, hash_: str) -> RevisionRecord | None:
        for rec in reversed(self.revisions):
            if rec.hash == hash_:
                return rec
        return None


@dataclass(slots=True)
class NodeState:
    node: objects_pb2.Node  # metadata.labels, spec.taints, spec.unschedulable
    registered_at: float
    connected: bool = False
    lost: bool = False
    assignment_seq: int = 0  # seq of the last event that changed this node's assignments
    pods: set[PodKey] = field(default_factory=set)
    version: int = 0  # version of the node/<name> stream

    @property
    def name(self) -> str:
        return self.node.metadata.name


@dataclass(slots=True)
class PodState:
    key: PodKey
    node_name: str
    owner: DsKey | None  # None for a static (mirror) pod
    revision_hash: str
    revision: int
    labels: dict[str, str]  # shared by the pods of one template: never mutate
    scheduled_at: float
    scheduled_seq: int
    phase: str = "Pending"
    ready: bool = False
    ready_since: float | None = None  # event time of the report that made it ready
    restart_count: int = 0
    message: str = ""
    delete_requested: bool = False
    static: bool = False
    mirror: objects_pb2.Pod | None = None  # the reported object, for static pods
    _info: PodInfo | None = field(default=None, compare=False, repr=False)

    @property
    def info(self) -> PodInfo:
        """The pod as the affinity rules see it (built once: labels never change)."""
        if self._info is None:
            self._info = PodInfo(self.key[0], self.labels, self.owner)
        return self._info


@dataclass(slots=True)
class FailureRecord:
    count: int
    last_at: float


@dataclass(slots=True)
class Touched:
    """What one event changed, for incremental reconciliation.

    Reconcile each set in `daemon_sets` (every set when `all_daemon_sets`)
    limited to `nodes`, or on every node when `all_nodes`. `pods_changed`: the
    pods on `nodes` changed, so sets with required pod (anti-)affinity must be
    looked at on every node (see ctrlplane.controller.scope).
    """

    daemon_sets: set[DsKey] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    all_daemon_sets: bool = False  # e.g. a node's labels changed: every set may care
    all_nodes: bool = False  # a daemon set's spec or lifecycle changed
    pods_changed: bool = False


@dataclass
class ClusterState:
    daemon_sets: dict[DsKey, DaemonSetState] = field(default_factory=dict)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    pods: dict[PodKey, PodState] = field(default_factory=dict)
    seq: int = 0  # the last folded seq
    time: float = 0.0  # the time of the last folded event
    failures: dict[tuple[DsKey, str], FailureRecord] = field(default_factory=dict)
    scheduled_count: dict[tuple[DsKey, str], int] = field(default_factory=dict)
    # label key -> label value -> node names (topology domains, selectors)
    nodes_by_label: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # pods of a deleted node, until the controller's PodDeleted (or the node returns)
    orphan_pods: dict[str, set[PodKey]] = field(default_factory=dict)
    lost_nodes: set[str] = field(default_factory=set)
    # stream name -> the object whose version it is (a cache for the fold's hot path)
    _streams: dict[str, DaemonSetState | NodeState] = field(
        default_factory=dict, compare=False, repr=False
    )

    # ---- queries ---------------------------------------------------------

    def node_pods(self, node_name: str) -> Iterator[PodState]:
        node = self.nodes.get(node_name)
        if node is None:
            return
        for key in node.pods:
            yield self.pods[key]

    # eligibility.PodsByTopology
    def nodes_in_domain(self, topology_key: str, value: str) -> Iterable[str]:
        return self.nodes_with_label(topology_key, value)

    def pods_on_node(self, node_name: str) -> Iterable[PodInfo]:
        return [pod.info for pod in self.node_pods(node_name)]

    def daemon_pods_on_node(self, ds: DaemonSetState, node_name: str) -> list[PodState]:
        names = ds.pods_by_node.get(node_name)
        if not names:
            return []
        ns = ds.key[0]
        return [self.pods[(ns, name)] for name in names]

    def nodes_with_label(self, key: str, value: str) -> set[str]:
        return self.nodes_by_label.get(key, {}).get(value, set())

    # ---- the fold --------------------------------------------------------

    def apply(self, event: events_pb2.Event) -> Touched:
        """Fold one event and say what it touched (the live path: the controller needs it)."""
        kind = event.WhichOneof("kind")
        self.seq = event.seq
        self.time = event.time
        handler = (_HANDLERS or _load_handlers()).get(kind) if kind is not None else None
        touched = handler(self, event, True) if handler is not None else None
        self._track_version(event.stream, event.version)
        return touched if touched is not None else Touched()

    def apply_quiet(self, event: events_pb2.Event) -> None:
        """Fold one event without building its Touched (see `fold`)."""
        fold((event,), self)

    def _track_version(self, stream: str, version: int) -> None:
        target = self._streams.get(stream)
        if target is None:
            key = daemon_set_key(stream)
            if key is not None:
                target = self.daemon_sets.get(key)
            elif stream.startswith(NODE_PREFIX):
                target = self.nodes.get(stream[len(NODE_PREFIX) :])
            if target is None:
                return
            self._streams[stream] = target
        target.version = version

    def _forget_stream(self, stream: str) -> None:
        """The object behind `stream` was replaced or removed: drop the cached link."""
        self._streams.pop(stream, None)

    # ---- index maintenance ----------------------------------------------

    def _index_labels(self, name: str, labels: Iterable[tuple[str, str]], add: bool) -> None:
        for key, value in labels:
            by_value = self.nodes_by_label.setdefault(key, {})
            names = by_value.setdefault(value, set())
            if add:
                names.add(name)
            else:
                names.discard(name)
                if not names:
                    del by_value[value]
                    if not by_value:
                        del self.nodes_by_label[key]

    def _add_pod(self, pod: PodState) -> None:
        self.pods[pod.key] = pod
        node = self.nodes.get(pod.node_name)
        if node is not None:
            node.pods.add(pod.key)
        if pod.owner is not None:
            ds = self.daemon_sets.get(pod.owner)
            if ds is not None:
                ds.pods_by_node.setdefault(pod.node_name, set()).add(pod.key[1])
                ds.hash_counts[pod.revision_hash] = ds.hash_counts.get(pod.revision_hash, 0) + 1
                ds.pod_count += 1
                if pod.ready:
                    ds.ready_count += 1
                self._reclass(ds, pod.node_name)

    def _remove_pod(self, key: PodKey) -> PodState | None:
        pod = self.pods.pop(key, None)
        if pod is None:
            return None
        node = self.nodes.get(pod.node_name)
        if node is not None:
            node.pods.discard(key)
        if pod.owner is not None:
            ds = self.daemon_sets.get(pod.owner)
            if ds is not None:
                names = ds.pods_by_node.get(pod.node_name)
                if names is not None:
                    names.discard(key[1])
                    if not names:
                        del ds.pods_by_node[pod.node_name]
                left = ds.hash_counts.get(pod.revision_hash, 0) - 1
                if left > 0:
                    ds.hash_counts[pod.revision_hash] = left
                else:
                    ds.hash_counts.pop(pod.revision_hash, None)
                ds.pod_count -= 1
                if pod.ready:
                    ds.ready_count -= 1
                self._reclass(ds, pod.node_name)
        return pod

    def _reclass(self, ds: DaemonSetState, node_name: str) -> None:
        """Bring the set's rollout book up to date for one node (see rollout_book.py)."""
        names = ds.pods_by_node.get(node_name)
        if names is not None and len(names) == 1:  # the usual case, without a list
            for name in names:
                pod = self.pods[(ds.key[0], name)]
            ds.book.update_one(node_name, pod, self.nodes.get(node_name), ds.template_hash)
            return
        ds.book.update(
            node_name,
            self.daemon_pods_on_node(ds, node_name),
            self.nodes.get(node_name),
            ds.template_hash,
        )

    def _reclass_node(self, node_name: str) -> None:
        """The node itself changed (registered, deleted, lost or back): every set's book.

        By the sets' own indices, not the node's pods: a pod decided for a node
        before it registered is in the set's index only.
        """
        for ds in self.daemon_sets.values():
            if node_name in ds.pods_by_node:
                self._reclass(ds, node_name)

    def _rebook(self, ds: DaemonSetState) -> None:
        """A new template (or an adopted set): every node's class may change."""
        ds.book = RolloutBook()
        for node_name in sorted(ds.pods_by_node):
            self._reclass(ds, node_name)

    def _owners_on(self, node_name: str) -> set[DsKey]:
        return {p.owner for p in self.node_pods(node_name) if p.owner is not None}


def fold(events: Iterable[events_pb2.Event], state: ClusterState | None = None) -> ClusterState:
    """Fold `events` into `state` (a new one if None) and return it, building no Touched.

    The start-up fold, replay and snapshots: the same handlers as
    `ClusterState.apply`, told that nobody reads what they touched, so the
    hot ones (pod reports, ~95 % of a real log) skip building it. The loop
    is `apply` inlined, with its lookups hoisted: a million events pay for
    every attribute read.
    """
    state = state if state is not None else ClusterState()
    handlers = _HANDLERS or _load_handlers()
    streams = state._streams
    for event in events:
        kind = event.WhichOneof("kind")
        state.seq = event.seq
        state.time = event.time
        if kind is not None:
            handler = handlers.get(kind)
            if handler is not None:
                handler(state, event, False)
        stream = event.stream
        target = streams.get(stream)  # the usual case, without a call
        if target is not None:
            target.version = event.version
        else:
            state._track_version(stream, event.version)
    return state


# handler(state, event, want_touched): folds the event into the state and,
# when `want_touched`, returns what it touched. Without it the caller discards
# the result, so a handler may return None instead of building it (the hot
# ones do; the rare ones may just return their Touched).
Handler = Callable[[ClusterState, events_pb2.Event, bool], Touched | None]
_HANDLERS: dict[str, Handler] = {}


def _load_handlers() -> dict[str, Handler]:
    # The handlers live in their own module (it needs the classes above, so
    # it is imported on first use rather than at the top).
    from ctrlplane.domain.fold_handlers import HANDLERS

    _HANDLERS.update(HANDLERS)
    return _HANDLERS
