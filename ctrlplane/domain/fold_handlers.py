"""How each event kind changes the ClusterState: one handler per kind of events.proto.

Part of the fold (state.py dispatches here); pure, no clock: times and seqs come
from the event envelope. A handler never raises on an event that refers to
something unknown (a pod already gone, a node deleted): the log is the truth and
a late report is simply ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain.revisions import template_hash
from ctrlplane.domain.state import (
    FAILURE_MEMORY_SECONDS,
    REVISION_HASH_LABEL,
    ClusterState,
    DaemonSetState,
    DsKey,
    FailureRecord,
    NodeState,
    PodState,
    RevisionRecord,
    Touched,
)
from ctrlplane.domain.streams import DEFAULT_NAMESPACE, daemon_set_stream, node_stream

Handler = Callable[[ClusterState, events_pb2.Event], Touched]


def _ns(namespace: str) -> str:
    return namespace or DEFAULT_NAMESPACE


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
    key = (_ns(obj.metadata.namespace), obj.metadata.name)
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
    else:
        ds.obj = obj
        if hash_ != ds.template_hash:
            _make_current(ds, hash_, obj.spec.template, cause, event.time)
        elif cause:
            current = ds.record(hash_)
            if current is not None:
                current.change_cause = cause
    return _ds_touched(key)


def _daemon_set_applied(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.daemon_set_applied
    cause = e.change_cause or e.daemon_set.metadata.annotations.get(
        "kubernetes.io/change-cause", ""
    )
    return _upsert(state, event, e.daemon_set, e.template_hash, cause)


def _daemon_set_rolled_back(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.daemon_set_rolled_back
    # A rollback keeps the restored revision's change-cause.
    return _upsert(state, event, e.daemon_set, e.template_hash, "")


def _lookup(state: ClusterState, namespace: str, name: str) -> DaemonSetState | None:
    return state.daemon_sets.get((_ns(namespace), name))


def _daemon_set_deleted(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.daemon_set_deleted
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.deleted = True
    return _ds_touched(ds.key)


def _daemon_set_paused(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.daemon_set_paused
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.paused = True
    return _ds_touched(ds.key)


def _daemon_set_resumed(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.daemon_set_resumed
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    if ds.paused:
        # The progress deadline counts from the resume, not from before the pause.
        ds.last_progress_at = max(ds.last_progress_at, event.time)
    ds.paused = False
    return _ds_touched(ds.key)


def _rollout_completed(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.rollout_completed
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.completed_hash = e.revision_hash
    if e.revision_hash == ds.template_hash:
        ds.rollout_complete = True
        ds.last_progress_at = max(ds.last_progress_at, event.time)
    return Touched(daemon_sets={ds.key})


def _rollout_failed(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.rollout_failed
    ds = _lookup(state, e.namespace, e.name)
    if ds is None:
        return Touched()
    ds.failed_hash = e.revision_hash
    ds.failed_reason = e.message or e.reason
    return Touched(daemon_sets={ds.key})


# ---- nodes -------------------------------------------------------------------


def _node_registered(state: ClusterState, event: events_pb2.Event) -> Touched:
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
    state._index_labels(name, obj.metadata.labels.items(), add=True)
    return Touched(nodes={name}, all_daemon_sets=True, pods_changed=bool(node.pods))


def _node_labels_changed(state: ClusterState, event: events_pb2.Event) -> Touched:
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


def _node_taints_changed(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.node_taints_changed
    node = state.nodes.get(e.node_name)
    if node is None:
        return Touched()
    del node.node.spec.taints[:]
    node.node.spec.taints.extend(e.taints)
    return Touched(nodes={e.node_name}, all_daemon_sets=True)


def _set_unschedulable(state: ClusterState, name: str, value: bool) -> Touched:
    node = state.nodes.get(name)
    if node is None:
        return Touched()
    node.node.spec.unschedulable = value
    # DaemonSets ignore `unschedulable`; status and views still change.
    return Touched(nodes={name}, daemon_sets=state._owners_on(name))


def _node_cordoned(state: ClusterState, event: events_pb2.Event) -> Touched:
    return _set_unschedulable(state, event.node_cordoned.node_name, True)


def _node_uncordoned(state: ClusterState, event: events_pb2.Event) -> Touched:
    return _set_unschedulable(state, event.node_uncordoned.node_name, False)


def _set_link(state: ClusterState, name: str, connected: bool, lost: bool) -> Touched:
    node = state.nodes.get(name)
    if node is None:
        return Touched()
    node.connected = connected
    node.lost = lost
    if lost:
        state.lost_nodes.add(name)
    else:
        state.lost_nodes.discard(name)
    # Availability of every pod there changed.
    return Touched(nodes={name}, daemon_sets=state._owners_on(name))


def _node_connected(state: ClusterState, event: events_pb2.Event) -> Touched:
    return _set_link(state, event.node_connected.node_name, True, False)


def _node_disconnected(state: ClusterState, event: events_pb2.Event) -> Touched:
    name = event.node_disconnected.node_name
    node = state.nodes.get(name)
    # Disconnected is not lost: the lease decides that.
    return _set_link(state, name, False, node.lost if node is not None else False)


def _node_lost(state: ClusterState, event: events_pb2.Event) -> Touched:
    return _set_link(state, event.node_lost.node_name, False, True)


def _node_deleted(state: ClusterState, event: events_pb2.Event) -> Touched:
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
    return Touched(nodes={name}, daemon_sets=owners, pods_changed=True)


# ---- pods --------------------------------------------------------------------


def _pod_scheduled(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.pod_scheduled
    ns = e.namespace or DEFAULT_NAMESPACE
    ds_name = e.daemon_set
    node_name = e.node_name
    revision_hash = e.revision_hash
    owner = (ns, ds_name)
    key = (ns, e.pod_name)
    if key in state.pods:
        state._remove_pod(key)
    ds = state.daemon_sets.get(owner)
    labels = ds.pod_labels(revision_hash) if ds is not None else {}
    if not labels:
        labels = {REVISION_HASH_LABEL: revision_hash}
    pod = PodState(key, node_name, owner, revision_hash, e.revision, labels, event.time, event.seq)
    state._add_pod(pod)
    node = state.nodes.get(node_name)
    if node is not None:
        node.assignment_seq = pod.scheduled_seq
    elif node_name in state.orphan_pods:
        state.orphan_pods[node_name].add(key)
    count_key = (owner, node_name)
    state.scheduled_count[count_key] = state.scheduled_count.get(count_key, 0) + 1
    return Touched({owner}, {node_name}, pods_changed=True)


def _pod_deleted(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.pod_deleted
    key = (_ns(e.namespace), e.pod_name)
    pod = state._remove_pod(key)
    node_name = pod.node_name if pod is not None else e.node_name
    node = state.nodes.get(node_name)
    if node is not None:
        node.assignment_seq = event.seq
    orphans = state.orphan_pods.get(node_name)
    if orphans is not None:
        orphans.discard(key)
        if not orphans:
            del state.orphan_pods[node_name]
    owner = pod.owner if pod is not None else (key[0], e.daemon_set)
    return Touched(
        daemon_sets={owner} if owner is not None else set(), nodes={node_name}, pods_changed=True
    )


def _pod_status_reported(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.pod_status_reported
    pod = state.pods.get((e.namespace or DEFAULT_NAMESPACE, e.pod_name))
    if pod is None or pod.static:
        return Touched()  # a late report about a pod that is gone
    node_name = e.node_name
    if node_name and node_name != pod.node_name:
        return Touched()  # a stranger's report
    time = event.time
    was_failed = pod.phase == "Failed"
    phase = e.phase or pod.phase
    pod.phase = phase
    ready = e.ready and phase != "Failed" and phase != "Succeeded"
    owner = pod.owner
    if ready != pod.ready:
        pod.ready_since = time if ready else None
        pod.ready = ready
        ds = state.daemon_sets.get(owner) if owner is not None else None
        if ds is not None:
            ds.ready_count += 1 if ready else -1
            if ready and pod.revision_hash == ds.template_hash:
                # Progress is a pod of the current template becoming available.
                available = time + ds.obj.spec.min_ready_seconds
                if available > ds.last_progress_at:
                    ds.last_progress_at = available
    pod.restart_count = e.restart_count
    pod.message = e.message or e.reason
    if phase == "Failed" and not was_failed and owner is not None:
        fkey = (owner, pod.node_name)
        record = state.failures.get(fkey)
        if record is None or time - record.last_at > FAILURE_MEMORY_SECONDS:
            state.failures[fkey] = FailureRecord(1, time)
        else:
            record.count += 1
            record.last_at = time
    return Touched({owner} if owner is not None else set(), {pod.node_name})


def _pod_delete_requested(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.pod_delete_requested
    pod = state.pods.get((_ns(e.namespace), e.pod_name))
    if pod is None or pod.static:
        return Touched()
    pod.delete_requested = True
    owners = {pod.owner} if pod.owner is not None else set()
    return Touched(daemon_sets=owners, nodes={pod.node_name})


def _pod_ready(pod: objects_pb2.Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def _static_pod_reported(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.static_pod_reported
    mirror = objects_pb2.Pod()
    mirror.CopyFrom(e.pod)
    key = (_ns(mirror.metadata.namespace), mirror.metadata.name)
    existing = state.pods.get(key)
    if existing is not None and not existing.static:
        return Touched()  # a daemon pod owns that name; never overwrite it
    ready = _pod_ready(mirror)
    if existing is not None:
        state._remove_pod(key)
    pod = PodState(
        key=key,
        node_name=e.node_name,
        owner=None,
        revision_hash="",
        revision=0,
        labels=dict(mirror.metadata.labels),
        scheduled_at=existing.scheduled_at if existing is not None else event.time,
        scheduled_seq=existing.scheduled_seq if existing is not None else event.seq,
        phase=mirror.status.phase or "Running",
        ready=ready,
        ready_since=(
            (existing.ready_since if existing is not None and existing.ready else event.time)
            if ready
            else None
        ),
        static=True,
        mirror=mirror,
    )
    state._add_pod(pod)
    return Touched(nodes={e.node_name}, pods_changed=True)


def _static_pod_removed(state: ClusterState, event: events_pb2.Event) -> Touched:
    e = event.static_pod_removed
    key = (_ns(e.namespace), e.pod_name)
    existing = state.pods.get(key)
    if existing is None or not existing.static:
        return Touched()
    state._remove_pod(key)
    return Touched(nodes={existing.node_name}, pods_changed=True)


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
    "pod_status_reported": _pod_status_reported,
    "pod_delete_requested": _pod_delete_requested,
    "static_pod_reported": _static_pod_reported,
    "static_pod_removed": _static_pod_removed,
    "pod_scheduled": _pod_scheduled,
    "pod_deleted": _pod_deleted,
    "rollout_completed": _rollout_completed,
    "rollout_failed": _rollout_failed,
}

__all__ = ["HANDLERS"]
