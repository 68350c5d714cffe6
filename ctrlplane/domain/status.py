"""A daemon set's status, computed from the folded state at a given time.

Owns the status counters as Kubernetes' updateDaemonSetStatus counts them
(per node: desired if the pod should run there; current/ready/available/updated
from the oldest daemon pod on it; misscheduled where it should not run), plus
our own fields (current revision, paused, RolloutFailed / Paused / Progressing
conditions). Pure: `now` is an argument; pods on a lost node are neither ready
nor available.
"""

from __future__ import annotations

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import NotFound
from ctrlplane.domain.pods import rfc3339
from ctrlplane.domain.state import ClusterState, DaemonSetState, DsKey, PodState


def oldest(pods: list[PodState]) -> PodState:
    """The pod Kubernetes counts for a node: oldest first, running before pending."""
    return min(pods, key=lambda p: (p.scheduled_seq, p.phase != "Running", p.key[1]))


def daemon_set_status(state: ClusterState, key: DsKey, now: float) -> objects_pb2.DaemonSetStatus:
    ds = state.daemon_sets.get(key)
    if ds is None or ds.deleted:
        raise NotFound("daemonset", f"{key[0]}/{key[1]}")
    return compute_status(state, ds, now)


def compute_status(
    state: ClusterState, ds: DaemonSetState, now: float
) -> objects_pb2.DaemonSetStatus:
    evaluate = ds.compiled().batch(state, ds.key).evaluate
    min_ready = ds.obj.spec.min_ready_seconds
    current_hash = ds.template_hash
    ns = ds.key[0]
    pods = state.pods
    by_node = ds.pods_by_node
    desired = current = misscheduled = ready = available = updated = 0
    # Inlined (pods.is_ready / is_available): this runs for every node on every query.
    for name, node in state.nodes.items():
        names = by_node.get(name)
        if evaluate(node.node).should_run:
            desired += 1
            if not names:
                continue
            current += 1
            if len(names) == 1:
                for pod_name in names:
                    pod = pods[(ns, pod_name)]
            else:
                pod = oldest([pods[(ns, n)] for n in names])
            since = pod.ready_since
            if pod.ready and since is not None and not node.lost:
                ready += 1
                if since + min_ready <= now:
                    available += 1
            if pod.revision_hash == current_hash:
                updated += 1
        elif names:
            misscheduled += 1
    # Pods left on deleted nodes are misscheduled until the controller removes them.
    misscheduled += sum(1 for name in by_node if name not in state.nodes)

    status = objects_pb2.DaemonSetStatus(
        desired_number_scheduled=desired,
        current_number_scheduled=current,
        number_misscheduled=misscheduled,
        number_ready=ready,
        number_available=available,
        number_unavailable=max(0, desired - available),
        updated_number_scheduled=updated,
        observed_generation=ds.obj.metadata.generation,
        current_revision=ds.revision,
        current_revision_hash=ds.template_hash,
        paused=ds.paused,
    )
    status.conditions.extend(conditions(ds))
    return status


def conditions(ds: DaemonSetState) -> list[objects_pb2.DaemonSetCondition]:
    out: list[objects_pb2.DaemonSetCondition] = []
    since = rfc3339(ds.updated_at)
    failed = ds.failed_hash == ds.template_hash and not ds.rollout_complete
    if ds.failed_hash and failed:
        out.append(
            objects_pb2.DaemonSetCondition(
                type="RolloutFailed",
                status="True",
                reason="ProgressDeadlineExceeded",
                message=ds.failed_reason,
                last_transition_time=since,
            )
        )
    if ds.paused:
        out.append(
            objects_pb2.DaemonSetCondition(
                type="Paused", status="True", reason="DaemonSetPaused", last_transition_time=since
            )
        )
    if ds.rollout_complete:
        progressing = objects_pb2.DaemonSetCondition(
            type="Progressing",
            status="True",
            reason="RolloutComplete",
            message=f"revision {ds.revision} rolled out",
            last_transition_time=since,
        )
    else:
        progressing = objects_pb2.DaemonSetCondition(
            type="Progressing",
            status="False" if failed else "True",
            reason="Rolling",
            message=f"rolling out revision {ds.revision}",
            last_transition_time=since,
        )
    out.append(progressing)
    return out
