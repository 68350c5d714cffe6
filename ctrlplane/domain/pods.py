"""Kubernetes-shaped Pod objects built from the folded state (for the API and views).

Owns the one conversion PodState -> objects_pb2.Pod and the availability rules
(ready, available after minReadySeconds, a lost node's pods are neither). Pure:
`now` is an argument; nothing here changes state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.state import ClusterState, DaemonSetState, PodState

DAEMON_SET_ANNOTATION = "ctrlplane.io/daemon-set"
REVISION_HASH_ANNOTATION = "ctrlplane.io/revision-hash"
STATIC_ANNOTATION = "ctrlplane.io/static"


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_lost(state: ClusterState, pod: PodState) -> bool:
    node = state.nodes.get(pod.node_name)
    return node is None or node.lost


def is_ready(state: ClusterState, pod: PodState) -> bool:
    """Ready as last reported, and its node not lost (then nobody knows)."""
    return pod.ready and not node_lost(state, pod)


def available_at(pod: PodState, min_ready_seconds: int) -> float | None:
    """When the pod becomes (or became) available; None while it is not ready."""
    if not pod.ready or pod.ready_since is None:
        return None
    return pod.ready_since + min_ready_seconds


def is_available(state: ClusterState, pod: PodState, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds at `now` (Kubernetes' IsPodAvailable)."""
    if not is_ready(state, pod):
        return False
    at = available_at(pod, min_ready_seconds)
    return at is not None and at <= now


def _ready_condition(state: ClusterState, pod: PodState) -> objects_pb2.PodCondition:
    if node_lost(state, pod) and pod.ready:
        return objects_pb2.PodCondition(
            type="Ready", status="Unknown", reason="NodeLost", message="the node's lease expired"
        )
    cond = objects_pb2.PodCondition(type="Ready", status="True" if pod.ready else "False")
    if pod.ready and pod.ready_since is not None:
        cond.last_transition_time = rfc3339(pod.ready_since)
    return cond


def _template_of(ds: DaemonSetState | None, pod: PodState) -> objects_pb2.PodTemplateSpec | None:
    if ds is None:
        return None
    record = ds.record(pod.revision_hash)
    return record.template if record is not None else None


def pod_object(state: ClusterState, pod: PodState) -> objects_pb2.Pod:
    """The pod as Kubernetes would show it: metadata, spec (with nodeName) and status."""
    if pod.static and pod.mirror is not None:
        mirror = objects_pb2.Pod()
        mirror.CopyFrom(pod.mirror)
        mirror.api_version = mirror.api_version or "v1"
        mirror.kind = mirror.kind or "Pod"
        mirror.metadata.namespace = pod.key[0]
        mirror.metadata.annotations[STATIC_ANNOTATION] = "true"
        mirror.spec.node_name = pod.node_name
        if not mirror.metadata.creation_timestamp:
            mirror.metadata.creation_timestamp = rfc3339(pod.scheduled_at)
        return mirror

    obj = objects_pb2.Pod(api_version="v1", kind="Pod")
    meta = obj.metadata
    meta.name = pod.key[1]
    meta.namespace = pod.key[0]
    meta.labels.update(pod.labels)
    meta.creation_timestamp = rfc3339(pod.scheduled_at)
    meta.resource_version = str(pod.scheduled_seq)
    ds = state.daemon_sets.get(pod.owner) if pod.owner is not None else None
    if pod.owner is not None:
        meta.annotations[DAEMON_SET_ANNOTATION] = pod.owner[1]
    meta.annotations[REVISION_HASH_ANNOTATION] = pod.revision_hash
    template = _template_of(ds, pod)
    if template is not None:
        meta.annotations.update(template.metadata.annotations)
        obj.spec.CopyFrom(template.spec)
    obj.spec.node_name = pod.node_name

    status = obj.status
    status.phase = pod.phase
    status.message = pod.message
    status.start_time = rfc3339(pod.scheduled_at)
    status.conditions.append(_ready_condition(state, pod))
    ready = is_ready(state, pod)
    for i, container in enumerate(obj.spec.containers):
        status.container_statuses.append(
            objects_pb2.ContainerStatus(
                name=container.name,
                image=container.image,
                ready=ready,
                started=pod.phase == "Running",
                restart_count=pod.restart_count if i == 0 else 0,
            )
        )
    return obj
