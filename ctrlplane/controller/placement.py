"""Per-node placement of one daemon set's pods (Kubernetes' podsShouldBeOnNode).

Owns what happens on one node regardless of the other nodes: schedule a missing
pod where it should run, delete pods where it should not continue, delete pods
the user asked to delete (and replace them), replace a Failed pod after its
back-off, keep at most one pod per template generation (current and old) and
drop the old one once the new one beside it is available. What is left is a
`NodeView` for the rolling-update planner, which owns the cross-node budget.
Pure: time is the pass's `now`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctrlplane.controller.decisions import Pass
from ctrlplane.domain.state import FailureRecord, PodState

BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 15 * 60.0

REASON_NODE_ELIGIBLE = "NodeEligible"
REASON_REPLACE_FAILED = "ReplaceFailed"
REASON_ON_DELETE = "OnDelete"
REASON_NODE_INELIGIBLE = "NodeIneligible"
REASON_DS_DELETED = "DaemonSetDeleted"
REASON_FAILED = "Failed"
REASON_DUPLICATE = "Duplicate"
REASON_USER_REQUESTED = "UserRequested"
REASON_ROLLING_UPDATE = "RollingUpdate"
REASON_SURGE = "Surge"


@dataclass(slots=True)
class NodeView:
    """The daemon set on one node after placement: at most one current and one old pod."""

    name: str
    new: PodState | None = None
    old: PodState | None = None
    new_pending: bool = False  # a current pod was scheduled in this pass
    blocked: bool = False  # a Failed pod waits out its back-off here
    lost: bool = False


def backoff_seconds(record: FailureRecord | None) -> float:
    if record is None or record.count <= 0:
        return 0.0
    return min(BACKOFF_INITIAL_SECONDS * 2.0 ** (record.count - 1), BACKOFF_MAX_SECONDS)


def backoff_end(p: Pass, node_name: str) -> float:
    """When a Failed pod on this node may be replaced: 1 s after the first failure,
    doubling per failure on that node up to 15 min (Kubernetes' failedPodsBackoff)."""
    record = p.state.failures.get((p.ds.key, node_name))
    if record is None:
        return p.now
    return record.last_at + backoff_seconds(record)


def _age(pod: PodState) -> tuple[int, str]:
    return (pod.scheduled_seq, pod.key[1])


def _best(p: Pass, pods: list[PodState]) -> PodState:
    """The pod to keep among duplicates: available first, then the oldest."""
    return min(pods, key=lambda pod: (not p.available(pod), *_age(pod)))


def delete_all(p: Pass, pods: list[PodState], reason: str, message: str) -> None:
    for pod in sorted(pods, key=_age):
        p.delete(pod, reason, message)


def place(p: Pass, node_name: str) -> NodeView | None:
    """Decide for one node; the view left behind (None when the set has nothing there)."""
    ds = p.ds
    state = p.state
    pods = state.daemon_pods_on_node(ds, node_name)
    verdict = p.verdict(node_name)
    if verdict is None:
        delete_all(p, pods, REASON_NODE_INELIGIBLE, f"node {node_name} is not registered")
        return None
    if not verdict.should_continue:
        delete_all(p, pods, REASON_NODE_INELIGIBLE, verdict.reason)
        return None
    if not pods:  # the common case of a full pass: a node without the pod
        if not verdict.should_run:
            return None
        p.schedule(node_name, REASON_NODE_ELIGIBLE)
        return NodeView(node_name, new_pending=True, lost=state.nodes[node_name].lost)

    view = NodeView(node_name, lost=state.nodes[node_name].lost)
    if len(pods) == 1:  # the steady state: one healthy pod, nothing to sort out
        only = pods[0]
        if not only.delete_requested and only.phase != "Failed" and only.phase != "Succeeded":
            if only.revision_hash == ds.template_hash:
                view.new = only
            else:
                view.old = only
            return view
    current: list[PodState] = []
    old: list[PodState] = []
    replacing = ""
    for pod in sorted(pods, key=_age):
        if pod.delete_requested:
            p.delete(pod, REASON_USER_REQUESTED, "deletion requested")
            replacing = replacing or REASON_ON_DELETE
        elif pod.phase in ("Failed", "Succeeded"):
            end = backoff_end(p, node_name)
            if p.now >= end:
                record = state.failures.get((ds.key, node_name))
                count = record.count if record is not None else 0
                p.delete(pod, REASON_FAILED, f"pod {pod.phase}; failure {count} on this node")
                replacing = REASON_REPLACE_FAILED
            else:
                p.wake(end)
                view.blocked = True
        elif pod.revision_hash == ds.template_hash:
            current.append(pod)
        else:
            old.append(pod)

    if current:
        keep = _best(p, current)
        for pod in current:
            if pod is not keep:
                p.delete(pod, REASON_DUPLICATE, f"{keep.key[1]} already runs here")
        view.new = keep
    if old:
        keep_old = _best(p, old)
        for pod in old:
            if pod is not keep_old:
                p.delete(pod, REASON_DUPLICATE, f"{keep_old.key[1]} already runs here")
        if view.new is not None and p.available(view.new):
            # The surged pod took over (update.go deletes the old one at this point).
            p.delete(
                keep_old, REASON_ROLLING_UPDATE, f"replaced by {view.new.key[1]}, now available"
            )
        else:
            view.old = keep_old

    if view.new is None and view.old is None and not view.blocked and verdict.should_run:
        reason = replacing or REASON_NODE_ELIGIBLE
        if reason == REASON_ON_DELETE and not on_delete(p):
            reason = REASON_NODE_ELIGIBLE
        p.schedule(node_name, reason)
        view.new_pending = True
    if view.new is None and view.old is None and not view.new_pending and not view.blocked:
        return None
    return view


def observe(p: Pass, node_name: str) -> NodeView | None:
    """The view of a node outside this pass's scope, from its pods alone (no decisions)."""
    ds = p.ds
    node = p.state.nodes.get(node_name)
    if node is None:
        return None
    view = NodeView(node_name, lost=node.lost)
    current: list[PodState] = []
    old: list[PodState] = []
    for pod in p.state.daemon_pods_on_node(ds, node_name):
        if pod.delete_requested:
            continue
        if pod.phase in ("Failed", "Succeeded"):
            view.blocked = True
        elif pod.revision_hash == ds.template_hash:
            current.append(pod)
        else:
            old.append(pod)
    if current:
        view.new = _best(p, current)
    if old:
        view.old = _best(p, old)
    if view.new is None and view.old is None and not view.blocked:
        return None
    return view


def on_delete(p: Pass) -> bool:
    return p.ds.obj.spec.update_strategy.type == "OnDelete"
