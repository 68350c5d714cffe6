"""How each event kind changes the ClusterState: the table of handlers, one per kind
of events.proto, with the daemon-set and node handlers (pod ones: fold_pods.py).

Part of the fold (state.py dispatches here); pure, no clock: times and seqs come
from the event envelope. A handler never raises on an event that refers to
something unknown (a pod already gone, a node deleted): the log is the truth and
a late report is simply ignored. One set of handlers serves both folds: `want`
False (the start-up fold, replay) means nobody reads the Touched, and the
handlers where building it costs (pod reports, node links) skip it.
"""

from __future__ import annotations

from collections.abc import Callable

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain import fold_pods
from ctrlplane.domain.revisions import template_hash
from ctrlplane.domain.state import (
    ClusterState,
    DaemonSetState,
    DsKey,
    NodeState,
    RevisionRecord,
    Touched,
)
from ctrlplane.domain.streams import daemon_set_stream, namespace_or_default, node_stream

Handler = Callable[[ClusterState, events_pb2.Event, bool], Touched | None]


def _ds_touched(key: DsKey) -> Touched:
    return Touched(daemon_sets={key}, all_nodes=True)


# ---- daemon sets -------------------------------------------------------------


def _make_current(
    ds: DaemonSetState,
    hash_: str,
    template: objects_pb2.PodTemplateSpec,
    cause: str,
    time: float,
) -> None:
    """Make `hash_` the current template: a new revision, or an old one moved to max+1."""
    top = max((r.revision for r in ds.revisions), default=0) + 1
    existing = ds.record(hash_)
    if existing is not None:
        ds.revisions.remove(existing)
        existing.revision = top
        existing.time = time
        if cause:
            existing.change_cause = cause
        ds.revisions.append(existing)
    else:
        copy = objects_pb2.PodTemplateSpec()
        copy.CopyFrom(template)
        ds.revisions.append(RevisionRecord(top, hash_, copy, cause, time))
    ds.template_hash = hash_
    ds.revision = top
    ds.updated_at = time
    ds.last_progress_at = time
    ds.rollout_complete = False


def _upsert(
    state: ClusterState,
    event: events_pb2.Event,
    applied: objects_pb2.DaemonSet,
    hash_: str,
    cause: str,
) -> Touched:
    obj = objects_pb2.DaemonSet()
    obj.CopyFrom(applied)
    obj.ClearField("status")
    key = (namespace_or_default(obj.metadata.namespace), obj.metadata.name)
    hash_ = hash_ or template_hash(obj.spec.template)
    ds = state.daemon_sets.get(key)
    if ds is None or ds.deleted:
        fresh = DaemonSetState(
            key=key,
            obj=obj,
            version=event.version,
            template_hash="",
            revision=0,
            revisions=[],
            created_at=event.time,
            updated_at=event.time,
        )
        if ds is not None:  # re-created before the old pods were gone: adopt them
            fresh.pods_by_node = ds.pods_by_node
            fresh.hash_counts = ds.hash_counts
            fresh.pod_count = ds.pod_count
            fresh.ready_count = ds.ready_count
        ds = fresh
        state.daemon_sets[key] = ds
        state._forget_stream(daemon_set_stream(*key))
        _make_current(ds, hash_, obj.spec.template, cause, event.time)
        state._rebook(ds)
    else:
        ds.obj = obj
        if hash_ != ds.template_hash:
            _make_current(ds, hash_, obj.spec.template, cause, event.time)
            state._rebook(ds)  # every pod's class (current or old) may change
        elif cause:
            current = ds.record(hash_)
            if current is not None:
                current.change_cause = cause
    return _ds_touched(key)


def _daemon_set_applied(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.daemon_set_applied
    cause = e.change_cause or e.daemon_set.metadata.annotations.get(
        "kubernetes.io/change-cause", ""
    )
    return _upsert(state, event, e.daemon_set, e.template_hash, cause)


def _daemon_set_rolled_back(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.daemon_set_rolled_back
    # A rollback keeps the restored revision's change-cause.
    return _upsert(state, event, e.daemon_set, e.template_hash, "")


def _lookup(state: ClusterState, namespace: str, name: str) -> DaemonSetState | None:
    return state.daemon_sets.get((namespace_or_default(namespace), name))


def _daemon_set_deleted(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.daemon_set_deleted
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.deleted = True
    return _ds_touched(ds.key)


def _daemon_set_paused(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.daemon_set_paused
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.paused = True
    return _ds_touched(ds.key)


def _daemon_set_resumed(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.daemon_set_resumed
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    if ds.paused:
        # The progress deadline counts from the resume, not from before the pause.
        ds.last_progress_at = max(ds.last_progress_at, event.time)
    ds.paused = False
    return _ds_touched(ds.key)


def _rollout_completed(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.rollout_completed
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.completed_hash = e.revision_hash
    if e.revision_hash == ds.template_hash:
        ds.rollout_complete = True
        ds.last_progress_at = max(ds.last_progress_at, event.time)
    return Touched(daemon_sets={ds.key})


def _rollout_failed(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.rollout_failed
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.failed_hash = e.revision_hash
    ds.failed_reason = e.message or e.reason
    return Touched(daemon_sets={ds.key})


# ---- nodes -------------------------------------------------------------------


def _node_registered(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    obj = objects_pb2.Node()
    obj.CopyFrom(event.node_registered.node)
    name = obj.metadata.name
    node = state.nodes.get(name)
    if node is not None:
        state._index_labels(name, node.node.metadata.labels.items(), add=False)
        node.node = obj
    else:
        node = NodeState(node=obj, registered_at=event.time, version=event.version)
        node.pods = state.orphan_pods.pop(name, set())
        state.nodes[name] = node
        state._forget_stream(node_stream(name))
        state._reclass_node(name)
    state._index_labels(name, obj.metadata.labels.items(), add=True)
    return Touched(nodes={name}, all_daemon_sets=True, pods_changed=bool(node.pods))


def _node_labels_changed(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.node_labels_changed
    node = state.nodes.get(e.node_name)
    if node is None:
        return Touched()
    labels = node.node.metadata.labels
    state._index_labels(e.node_name, labels.items(), add=False)
    labels.clear()
    labels.update(e.labels)
    state._index_labels(e.node_name, labels.items(), add=True)
    # Pod (anti-)affinity domains may have changed too.
    return Touched(nodes={e.node_name}, all_daemon_sets=True, pods_changed=bool(node.pods))


def _node_taints_changed(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    e = event.node_taints_changed
    node = state.nodes.get(e.node_name)
    if node is None:
        return Touched()
    del node.node.spec.taints[:]
    node.node.spec.taints.extend(e.taints)
    return Touched(nodes={e.node_name}, all_daemon_sets=True)


def _set_unschedulable(state: ClusterState, name: str, value: bool, want: bool) -> Touched | None:
    node = state.nodes.get(name)
    if node is None:
        return Touched()
    node.node.spec.unschedulable = value
    if not want:
        return None
    # DaemonSets ignore `unschedulable`; status and views still change.
    return Touched(nodes={name}, daemon_sets=state._owners_on(name))


def _node_cordoned(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    return _set_unschedulable(state, event.node_cordoned.node_name, True, want)


def _node_uncordoned(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    return _set_unschedulable(state, event.node_uncordoned.node_name, False, want)


def _set_link(
    state: ClusterState, name: str, connected: bool, lost: bool, want: bool
) -> Touched | None:
    node = state.nodes.get(name)
    if node is None:
        return Touched()
    node.connected = connected
    was_lost = node.lost
    node.lost = lost
    if lost:
        state.lost_nodes.add(name)
    else:
        state.lost_nodes.discard(name)
    if was_lost != lost:
        state._reclass_node(name)
    if not want:
        return None
    # Availability of every pod there changed.
    return Touched(nodes={name}, daemon_sets=state._owners_on(name))


def _node_connected(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    return _set_link(state, event.node_connected.node_name, True, False, want)


def _node_disconnected(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    name = event.node_disconnected.node_name
    node = state.nodes.get(name)
    # Disconnected is not lost: the lease decides that.
    return _set_link(state, name, False, node.lost if node is not None else False, want)


def _node_lost(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    return _set_link(state, event.node_lost.node_name, False, True, want)


def _node_deleted(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched:
    name = event.node_deleted.node_name
    node = state.nodes.pop(name, None)
    if node is None:
        return Touched()
    state._forget_stream(node_stream(name))
    state._index_labels(name, node.node.metadata.labels.items(), add=False)
    state.lost_nodes.discard(name)
    owners: set[DsKey] = set()
    kept: set[tuple[str, str]] = set()
    for key in node.pods:
        pod = state.pods[key]
        if pod.static:  # its agent is gone with the node
            del state.pods[key]
        else:
            kept.add(key)
            if pod.owner is not None:
                owners.add(pod.owner)
    if kept:  # the controller deletes them; a re-registered node gets them back
        state.orphan_pods[name] = kept
    state._reclass_node(name)
    return Touched(nodes={name}, daemon_sets=owners, pods_changed=True)


HANDLERS: dict[str, Handler] = {
    "daemon_set_applied": _daemon_set_applied,
    "daemon_set_deleted": _daemon_set_deleted,
    "daemon_set_rolled_back": _daemon_set_rolled_back,
    "daemon_set_paused": _daemon_set_paused,
    "daemon_set_resumed": _daemon_set_resumed,
    "node_registered": _node_registered,
    "node_labels_changed": _node_labels_changed,
    "node_taints_changed": _node_taints_changed,
    "node_cordoned": _node_cordoned,
    "node_uncordoned": _node_uncordoned,
    "node_connected": _node_connected,
    "node_disconnected": _node_disconnected,
    "node_lost": _node_lost,
    "node_deleted": _node_deleted,
    "pod_status_reported": fold_pods.pod_status_reported,
    "pod_delete_requested": fold_pods.pod_delete_requested,
    "static_pod_reported": fold_pods.static_pod_reported,
    "static_pod_removed": fold_pods.static_pod_removed,
    "pod_scheduled": fold_pods.pod_scheduled,
    "pod_deleted": fold_pods.pod_deleted,
    "rollout_completed": _rollout_completed,
    "rollout_failed": _rollout_failed,
}

__all__ = ["HANDLERS"]
