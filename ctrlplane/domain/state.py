"""The folded read model of the whole cluster: daemon sets, nodes, pods.

`ClusterState.apply(event)` folds one event and says what it touched, so the
controller can work on what changed. Everything is derived from the log;
nothing here reads a clock (times come from the events).

SKELETON: field names are the contract other modules code against; the fold
itself (`apply`) is being filled in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ctrlplane._proto.v1 import events_pb2, objects_pb2

DsKey = tuple[str, str]  # (namespace, name)
PodKey = tuple[str, str]  # (namespace, pod name)


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


@dataclass(slots=True)
class NodeState:
    node: objects_pb2.Node  # metadata.labels, spec.taints, spec.unschedulable
    registered_at: float
    connected: bool = False
    lost: bool = False
    assignment_seq: int = 0  # seq of the last event that changed this node's assignments
    pods: set[PodKey] = field(default_factory=set)


@dataclass(slots=True)
class PodState:
    key: PodKey
    node_name: str
    owner: DsKey | None  # None for a static (mirror) pod
    revision_hash: str
    revision: int
    labels: dict[str, str]
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


@dataclass(slots=True)
class FailureRecord:
    count: int
    last_at: float


@dataclass(slots=True)
class Touched:
    """What one event changed, for incremental reconciliation."""

    daemon_sets: set[DsKey] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    all_daemon_sets: bool = False  # e.g. a node's labels changed: every set may care


@dataclass
class ClusterState:
    daemon_sets: dict[DsKey, DaemonSetState] = field(default_factory=dict)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    pods: dict[PodKey, PodState] = field(default_factory=dict)
    seq: int = 0  # the last folded seq
    time: float = 0.0  # the time of the last folded event
    failures: dict[tuple[DsKey, str], FailureRecord] = field(default_factory=dict)
    scheduled_count: dict[tuple[DsKey, str], int] = field(default_factory=dict)

    def apply(self, event: events_pb2.Event) -> Touched:
        raise NotImplementedError


def fold(events: Iterable[events_pb2.Event], state: ClusterState | None = None) -> ClusterState:
    state = state if state is not None else ClusterState()
    for event in events:
        state.apply(event)
    return state
