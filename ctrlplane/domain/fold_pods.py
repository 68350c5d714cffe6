"""How the pod events change the ClusterState (part of the fold; see fold_handlers.py).

PodScheduled / PodDeleted (the controller's decisions), PodStatusReported and
PodDeleteRequested, and the static (mirror) pods agents report. Pure: times and
seqs come from the event envelope; a report about a pod that is gone is ignored.
Each handler returns its Touched only when `want` (see state.Handler).
"""

from __future__ import annotations

from ctrlplane._proto.v1 import events_pb2, objects_pb2
from ctrlplane.domain.state import (
    FAILURE_MEMORY_SECONDS,
    REVISION_HASH_LABEL,
    ClusterState,
    FailureRecord,
    PodState,
    Touched,
)
from ctrlplane.domain.streams import DEFAULT_NAMESPACE, namespace_or_default


def pod_scheduled(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    e = event.pod_scheduled
    ns = namespace_or_default(e.namespace)
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
    else:
        # Decided before the node was deleted (or registered): kept where a
        # (re-)registered node takes its pods back, as NodeRegistered does.
        state.orphan_pods.setdefault(node_name, set()).add(key)
    count_key = (owner, node_name)
    state.scheduled_count[count_key] = state.scheduled_count.get(count_key, 0) + 1
    return Touched({owner}, {node_name}, pods_changed=True) if want else None


def pod_deleted(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    e = event.pod_deleted
    key = (namespace_or_default(e.namespace), e.pod_name)
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
    if not want:
        return None
    owner = pod.owner if pod is not None else (key[0], e.daemon_set)
    return Touched(
        daemon_sets={owner} if owner is not None else set(), nodes={node_name}, pods_changed=True
    )


def pod_status_reported(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    # The hot path: ~95 % of a real log. Each protobuf field read costs about
    # as much as a dict lookup, so every field is read once (the time from
    # the state, already set from this event), and the usual report, one
    # that changes neither readiness nor phase, touches nothing else.
    e = event.pod_status_reported
    # namespace_or_default inlined: a call costs as much as a field read here.
    pod = state.pods.get((e.namespace or DEFAULT_NAMESPACE, e.pod_name))
    if pod is None or pod.static:
        return Touched() if want else None  # a late report about a pod that is gone
    node_name = e.node_name
    if node_name and node_name != pod.node_name:
        return Touched() if want else None  # a stranger's report
    old_phase = pod.phase
    phase = e.phase or old_phase
    ready = e.ready and phase != "Failed" and phase != "Succeeded"
    pod.restart_count = e.restart_count
    pod.message = e.message or e.reason
    owner = pod.owner
    ds = None  # the owner's state, looked up at most once and only on a change
    ready_changed = ready != pod.ready
    if ready_changed:
        time = state.time
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
    if phase != old_phase:
        pod.phase = phase
        ready_changed = True  # the rollout book cares about both
        if phase == "Failed" and owner is not None:
            time = state.time
            fkey = (owner, pod.node_name)
            record = state.failures.get(fkey)
            if record is None or time - record.last_at > FAILURE_MEMORY_SECONDS:
                state.failures[fkey] = FailureRecord(1, time)
            else:
                record.count += 1
                record.last_at = time
    if ready_changed and owner is not None:
        if ds is None:
            ds = state.daemon_sets.get(owner)
        if ds is not None:
            state._reclass(ds, pod.node_name)
    if not want:
        return None
    return Touched({owner} if owner is not None else set(), {pod.node_name})


def pod_delete_requested(
    state: ClusterState, event: events_pb2.Event, want: bool
) -> Touched | None:
    e = event.pod_delete_requested
    pod = state.pods.get((namespace_or_default(e.namespace), e.pod_name))
    if pod is None or pod.static:
        return Touched()
    pod.delete_requested = True
    ds = state.daemon_sets.get(pod.owner) if pod.owner is not None else None
    if ds is not None:
        state._reclass(ds, pod.node_name)
    if not want:
        return None
    owners = {pod.owner} if pod.owner is not None else set()
    return Touched(daemon_sets=owners, nodes={pod.node_name})


def pod_ready(pod: objects_pb2.Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def static_pod_reported(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    e = event.static_pod_reported
    mirror = objects_pb2.Pod()
    mirror.CopyFrom(e.pod)
    key = (namespace_or_default(mirror.metadata.namespace), mirror.metadata.name)
    existing = state.pods.get(key)
    if existing is not None and not existing.static:
        return Touched()  # a daemon pod owns that name; never overwrite it
    ready = pod_ready(mirror)
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
    return Touched(nodes={e.node_name}, pods_changed=True) if want else None


def static_pod_removed(state: ClusterState, event: events_pb2.Event, want: bool) -> Touched | None:
    e = event.static_pod_removed
    key = (namespace_or_default(e.namespace), e.pod_name)
    existing = state.pods.get(key)
    if existing is None or not existing.static:
        return Touched()
    state._remove_pod(key)
    return Touched(nodes={existing.node_name}, pods_changed=True) if want else None
