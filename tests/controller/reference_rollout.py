"""The rolling-update planner as it was before the fold kept a rollout book (a reference).

Scans every node of the set each pass (`_all_views`); tests compare the
planner in ctrlplane/controller/rollout.py with it, decision for decision.
Test-only: never imported by the plane.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.controller.decisions import Pass, ReconcileResult
from ctrlplane.controller.placement import (
    REASON_DS_DELETED,
    REASON_NODE_INELIGIBLE,
    REASON_ROLLING_UPDATE,
    REASON_SURGE,
    NodeView,
    delete_all,
    observe,
    on_delete,
    place,
)
from ctrlplane.controller.rollout import budget, check_deadline
from ctrlplane.domain.state import ClusterState, DsKey


def _may_be_complete(p: Pass) -> bool:
    """A cheap bound from the fold's counters: can every pod off lost nodes be good?"""
    ds = p.ds
    on_lost = sum(len(ds.pods_by_node.get(n, ())) for n in p.state.lost_nodes)
    bad = max(ds.pod_count - ds.ready_count, ds.outdated_count)
    return bad - len(p.deleted) <= on_lost


def plan(p: Pass, scoped: dict[str, NodeView | None]) -> None:
    """Rolling replacements and completion, given placement's views of the scoped nodes."""
    ds = p.ds
    rolling = not on_delete(p) and not ds.paused and ds.outdated_count > 0
    if not rolling and (ds.rollout_complete or not _may_be_complete(p)):
        return
    views = _all_views(p, scoped)
    if rolling:
        _replace(p, views)
    watch = not ds.rollout_complete and _may_be_complete(p)
    # The views are what this pass leaves behind, so a pass that makes the last
    # change can also say the rollout is complete (reconcile stays idempotent).
    if watch and _complete(p, views):
        ns, name = ds.key
        p.emit(
            events_pb2.Event(
                rollout_completed=events_pb2.RolloutCompleted(
                    namespace=ns, name=name, revision_hash=ds.template_hash, revision=ds.revision
                )
            )
        )


def _all_views(p: Pass, scoped: dict[str, NodeView | None]) -> list[NodeView]:
    """Placement's views of the scoped nodes, and every other node the set has pods on.

    Unordered: callers sort what they choose from. The single-pod node is the
    common case by far and is classified here without building lists.
    """
    views = [v for v in scoped.values() if v is not None]
    ds = p.ds
    ns = ds.key[0]
    current = ds.template_hash
    pods = p.state.pods
    nodes = p.state.nodes
    for name, names in ds.pods_by_node.items():
        if name in scoped:
            continue
        if len(names) != 1:
            view = observe(p, name)
            if view is not None:
                views.append(view)
            continue
        node = nodes.get(name)
        if node is None:
            continue
        for pod_name in names:
            pod = pods[(ns, pod_name)]
        if pod.delete_requested:
            continue
        view = NodeView(name, lost=node.lost)
        if pod.phase == "Failed" or pod.phase == "Succeeded":
            view.blocked = True
        elif pod.revision_hash == current:
            view.new = pod
        else:
            view.old = pod
        views.append(view)
    return views


def _complete(p: Pass, views: Iterable[NodeView]) -> bool:
    for v in views:
        if v.lost or (v.new is None and v.old is None and not v.new_pending and not v.blocked):
            continue  # lost, or left empty by this pass (no longer takes new pods)
        if v.blocked or v.old is not None or v.new is None or not p.available(v.new):
            return False
    return True


def _new_unavailable(p: Pass, v: NodeView) -> bool:
    return v.new_pending or (v.new is not None and not p.available(v.new))


def _replace(p: Pass, views: list[NodeView]) -> None:
    ds = p.ds
    rolling = ds.obj.spec.update_strategy.rolling_update
    desired = len(views)
    max_surge = budget(rolling.max_surge, desired)
    max_unavailable = budget(rolling.max_unavailable, desired)
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1  # as update.go: never a rollout that cannot move

    unavailable = 0
    surging = 0
    allowed: list[NodeView] = []
    candidates: list[NodeView] = []
    for v in views:
        if v.lost:
            continue  # the lost-node rule (module docstring)
        has_new = v.new is not None or v.new_pending
        if v.old is None:
            if v.blocked or _new_unavailable(p, v):
                unavailable += 1
            continue
        if has_new:
            if _new_unavailable(p, v):
                surging += 1
            continue
        if v.blocked:
            unavailable += 1
            continue
        if not p.available(v.old):
            unavailable += 1
            allowed.append(v)
        else:
            candidates.append(v)

    if max_surge:
        room = max(0, max_surge - surging)
        note = f"surge {surging}/{max_surge}"
    else:
        room = max(0, max_unavailable - unavailable)
        note = f"{unavailable}/{max_unavailable} nodes unavailable"
    allowed.sort(key=_by_name)
    candidates.sort(key=_by_name)
    chosen = allowed + _ordered(p, candidates)[:room]
    for v in chosen:
        _replace_on(p, v, surge=max_surge > 0, note=note)


def _by_name(v: NodeView) -> str:
    return v.name


def _ordered(p: Pass, candidates: list[NodeView]) -> list[NodeView]:
    if len(candidates) < 2 or not p.has_preferences:
        return candidates
    return sorted(candidates, key=lambda v: (-p.score(v.name), v.name))


def _replace_on(p: Pass, v: NodeView, *, surge: bool, note: str) -> None:
    assert v.old is not None
    verdict = p.verdict(v.name)
    if verdict is None or not verdict.should_continue:
        # A node outside a limited pass's scope that no longer takes the set:
        # decide exactly what placement would, so a full pass agrees.
        reason = verdict.reason if verdict is not None else f"node {v.name} is not registered"
        p.delete(v.old, REASON_NODE_INELIGIBLE, reason)
        v.old = None
        return
    should_run = verdict.should_run
    message = f"rolling update to revision {p.ds.revision} ({note})"
    # The view follows the decisions, so completion is judged on the result.
    if surge and should_run:
        p.schedule(v.name, REASON_SURGE)
        v.new_pending = True
        return
    p.delete(v.old, REASON_ROLLING_UPDATE, message)
    v.old = None
    if should_run:
        p.schedule(v.name, REASON_ROLLING_UPDATE)
        v.new_pending = True


def reconcile(
    state: ClusterState, key: DsKey, now: float, *, nodes: Collection[str] | None = None
) -> ReconcileResult:
    ds = state.daemon_sets.get(key)
    if ds is None:
        return ReconcileResult([], None)
    p = Pass(state, ds, now)
    if ds.deleted:
        for node_name in sorted(ds.pods_by_node):
            pods = state.daemon_pods_on_node(ds, node_name)
            delete_all(p, pods, REASON_DS_DELETED, f"daemon set {key[0]}/{key[1]} was deleted")
        return p.result()

    if check_deadline(p):
        return p.result()

    if nodes is None or ds.compiled().pod_affinity.required:
        scope = sorted(state.nodes.keys() | ds.pods_by_node.keys())
    else:
        scope = sorted(nodes)
    scoped: dict[str, NodeView | None] = {}
    for node_name in scope:
        scoped[node_name] = place(p, node_name)
    plan(p, scoped)
    return p.result()
