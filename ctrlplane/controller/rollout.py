"""The rolling-update planner (Kubernetes' daemon/update.go) and rollout bookkeeping.

Owns the cross-node part of a reconcile pass: how many old pods may be replaced
now (maxUnavailable, int or percent of desired nodes, rounded up; maxSurge, a
new pod beside the old one), when a rollout is complete (RolloutCompleted), and
when it has failed (progress deadline, then optional auto-rollback). Per-node
work (missing pods, duplicates, back-off, the surged pod taking over) is
placement.py's. Pure: time is the pass's `now`.

Rules beyond Kubernetes, chosen here:
- Lost nodes never hold the budget hostage (kubernetes/kubernetes #117204,
  #73011): a pod on a NodeLost node counts as unavailable in the status, but the
  planner leaves that node out entirely: it is not counted against
  maxUnavailable (nor maxSurge), its pod is not replaced while the node is lost
  (nobody is there to stop the old pod or start the new one, and deleting the
  last copy of a pod on a node that may just be partitioned helps nobody), and
  it does not block completion: a rollout completes when every node that is
  not lost has an updated, available pod. When the node returns it is updated
  like any other, within the budget.
- Desired nodes for percentages are the nodes that hold a pod of the set or get
  one in this pass (placement keeps pods exactly on eligible nodes, so this is
  desiredNumberScheduled without evaluating every node again).
- Old pods that are already unavailable are replaced first and without waiting
  for budget (they still count as unavailable, as in update.go); the rest are
  ordered by preferred-scheduling score (highest first), then node name.
- Paused: no replacements start (placement still gives new nodes the current
  pods, and a Failed pod is still replaced, with the current template).
- Progress is a pod of the current template becoming available (folded as the
  time it turned ready plus minReadySeconds), a new template, or a resume.
  With spec.progressDeadlineSeconds set, no progress for that long (while not
  paused and not complete) emits RolloutFailed once per template; with
  spec.autoRollback a DaemonSetRolledBack to the last completed revision
  follows, and the pass stops there (the restored template drives the next).

Work in proportion to what changed: the planner does not scan the set's nodes.
The fold keeps each node's pod classified (domain/rollout_book.py); the nodes
with an updated pod available now or not ready, and those with an old pod
available now, are only counted, and of the latter the planner takes the first
it has budget for from the book's sorted list. Pods that became ready within
the last minReadySeconds come from the book's time-sorted log, read from the
end. Views are built only for the scoped nodes, the few irregular nodes
(several pods, Failed, delete requested, lost) and old pods not available
(replaced at once). The decisions are those of a full scan, in the same order
(tests/controller/test_rollout_book.py compares them). With preferred
scheduling the rollout order is by score, so then every candidate is scored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.controller.decisions import Pass
from ctrlplane.controller.placement import (
    REASON_NODE_INELIGIBLE,
    REASON_ROLLING_UPDATE,
    REASON_SURGE,
    NodeView,
    observe,
    on_delete,
)
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.intorpercent import scaled_value
from ctrlplane.domain.revisions import rolled_back_daemon_set
from ctrlplane.domain.rollout_book import (
    CLASSES,
    NEW_READY,
    NEW_UNREADY,
    OLD_READY,
    OLD_UNREADY,
    OTHER,
)

REASON_DEADLINE = "ProgressDeadlineExceeded"


def budget(value: str, desired: int) -> int:
    """maxUnavailable / maxSurge as a number of nodes (percent of desired, rounded up)."""
    try:
        return scaled_value(value, desired, True)
    except InvalidSpec:  # validated before it reached the log; never stall on it here
        return 1


def check_deadline(p: Pass) -> bool:
    """Emit RolloutFailed (and the auto-rollback) when the deadline passed.

    True when a rollback was decided: the caller stops the pass there.
    """
    ds = p.ds
    spec = ds.obj.spec
    deadline = spec.progress_deadline_seconds
    if deadline <= 0 or ds.rollout_complete or ds.paused or ds.failed_hash == ds.template_hash:
        return False
    at = ds.last_progress_at + deadline
    if p.now < at:
        p.wake(at)
        return False
    ns, name = ds.key
    message = (
        f"revision {ds.revision} made no progress for {deadline}s"
        f" (no pod of it became available since {ds.last_progress_at:.3f})"
    )
    p.emit(
        events_pb2.Event(
            rollout_failed=events_pb2.RolloutFailed(
                namespace=ns,
                name=name,
                revision_hash=ds.template_hash,
                revision=ds.revision,
                reason=REASON_DEADLINE,
                message=message,
            )
        )
    )
    if not spec.auto_rollback or not ds.completed_hash or ds.completed_hash == ds.template_hash:
        return False
    record = ds.record(ds.completed_hash)
    if record is None:
        return False
    reason = f"auto-rollback: revision {ds.revision} {REASON_DEADLINE} ({deadline}s)"
    p.emit(events_pb2.Event(daemon_set_rolled_back=rolled_back_daemon_set(ds, record, reason)))
    return True


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
    views, rest = _views(p, scoped)
    if rolling:
        _replace(p, views, rest)
    watch = not ds.rollout_complete and _may_be_complete(p)
    # The views are what this pass leaves behind, so a pass that makes the last
    # change can also say the rollout is complete (reconcile stays idempotent).
    if watch and not rolling:
        # Completion alone is watched: wake when any updated pod becomes
        # available (the scan woke on the first it met, in an order not kept).
        for v in views:
            if v.new is not None and not v.lost:
                p.available(v.new)
    if watch and _complete(p, views) and rest.old_left == 0 and rest.new_unready == 0:
        ns, name = ds.key
        p.emit(
            events_pb2.Event(
                rollout_completed=events_pb2.RolloutCompleted(
                    namespace=ns, name=name, revision_hash=ds.template_hash, revision=ds.revision
                )
            )
        )


@dataclass(slots=True)
class _Rest:
    """The nodes outside the views, from the fold's rollout book (not scanned).

    `settled`: an updated pod, available now; `old_left`: an old pod, available
    now (a replacement candidate), those not replaced in this pass;
    `new_unready`: an updated pod, not ready (unavailable, not complete);
    `skip`: nodes of OLD_READY that are in a view already (scoped, or not
    available).
    """

    settled: int
    old_left: int
    new_unready: int
    skip: set[str]


def _views(p: Pass, scoped: dict[str, NodeView | None]) -> tuple[list[NodeView], _Rest]:
    """Placement's views of the scoped nodes, and of the set's other nodes that need a look.

    Unordered: callers sort what they choose from. Of the nodes outside the
    scope, the big classes of the book (an updated pod available now or not
    ready, an old pod available now) are only counted (`_Rest`); every other
    node gets a view, built as placement would see it.
    """
    views = [v for v in scoped.values() if v is not None]
    ds = p.ds
    book = ds.book
    members = book.members
    classes = book.cls
    in_scope = [0] * CLASSES
    for name in scoped:
        c = classes.get(name)
        if c is not None:
            in_scope[c] += 1
    recent: dict[str, int] = {}  # ready, not yet available (outside the scope)
    for name in book.recent(p.now, p.min_ready):
        if name not in scoped:
            recent[name] = classes[name]
    skip = {name for name, c in recent.items() if c == OLD_READY}
    recent_new = len(recent) - len(skip)
    skip.update(name for name in scoped if classes.get(name) == OLD_READY)
    settled = len(members[NEW_READY]) - in_scope[NEW_READY] - recent_new
    old_left = len(members[OLD_READY]) - len(skip)
    for c in (OTHER, OLD_UNREADY):
        for name in members[c]:
            if name not in scoped:
                _add_view(p, views, name)
    for name in recent:
        view = _add_view(p, views, name)
        # Wake when the first of them becomes available (the scan woke on the
        # first it met; completion is watched either way).
        if view is not None:
            pod = view.new if view.new is not None else view.old
            if pod is not None:
                p.available(pod)
    new_unready = len(members[NEW_UNREADY]) - in_scope[NEW_UNREADY]
    return views, _Rest(settled, old_left, new_unready, skip)


def _add_view(p: Pass, views: list[NodeView], name: str) -> NodeView | None:
    """The view of one node outside the scope (as observe, the single pod inlined)."""
    ds = p.ds
    names = ds.pods_by_node.get(name)
    if not names:
        return None
    if len(names) != 1:
        observed = observe(p, name)
        if observed is not None:
            views.append(observed)
        return observed
    node = p.state.nodes.get(name)
    if node is None:
        return None
    for pod_name in names:
        pod = p.state.pods[(ds.key[0], pod_name)]
    if pod.delete_requested:
        return None
    view = NodeView(name, lost=node.lost)
    if pod.phase == "Failed" or pod.phase == "Succeeded":
        view.blocked = True
    elif pod.revision_hash == ds.template_hash:
        view.new = pod
    else:
        view.old = pod
    views.append(view)
    return view


def _complete(p: Pass, views: Iterable[NodeView]) -> bool:
    for v in views:
        if v.lost or (v.new is None and v.old is None and not v.new_pending and not v.blocked):
            continue  # lost, or left empty by this pass (no longer takes new pods)
        if v.blocked or v.old is not None or v.new is None or not p.available(v.new):
            return False
    return True


def _new_unavailable(p: Pass, v: NodeView) -> bool:
    return v.new_pending or (v.new is not None and not p.available(v.new))


def _replace(p: Pass, views: list[NodeView], rest: _Rest) -> None:
    ds = p.ds
    rolling = ds.obj.spec.update_strategy.rolling_update
    desired = len(views) + rest.settled + rest.old_left + rest.new_unready
    max_surge = budget(rolling.max_surge, desired)
    max_unavailable = budget(rolling.max_unavailable, desired)
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1  # as update.go: never a rollout that cannot move

    unavailable = rest.new_unready
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
    chosen = allowed + _pick(p, candidates, rest, room)
    for v in chosen:
        _replace_on(p, v, surge=max_surge > 0, note=note)
    views.extend(chosen[len(allowed) :])  # completion looks at them too


def _pick(p: Pass, candidates: list[NodeView], rest: _Rest, room: int) -> list[NodeView]:
    """The first `room` candidates in rollout order: the views' and the book's old pods.

    By name, the book's sorted list merged with the (few, sorted) views, so
    only what the budget allows is looked at; with preferred scheduling, by
    score first, which needs every candidate.
    """
    if room <= 0:
        return []
    skip = rest.skip
    book = (name for name in p.ds.book.old_ready_sorted if name not in skip)
    picked: list[NodeView] = []
    taken = 0  # of the book's
    if p.has_preferences:
        everyone = candidates + [_old_view(p, name) for name in book]
        # (score, name) is a total order: no pre-sort by name needed.
        picked = sorted(everyone, key=lambda v: (-p.score(v.name), v.name))[:room]
        viewed = {v.name for v in candidates}
        taken = sum(1 for v in picked if v.name not in viewed)
    else:
        i = 0
        for name in book:
            while i < len(candidates) and candidates[i].name < name and len(picked) < room:
                picked.append(candidates[i])
                i += 1
            if len(picked) >= room:
                break
            picked.append(_old_view(p, name))
            taken += 1
        while i < len(candidates) and len(picked) < room:
            picked.append(candidates[i])
            i += 1
    rest.old_left -= taken
    return picked


def _old_view(p: Pass, name: str) -> NodeView:
    """The view of a node of the book's OLD_READY class: its one old pod."""
    ds = p.ds
    for pod_name in ds.pods_by_node[name]:
        pod = p.state.pods[(ds.key[0], pod_name)]
    return NodeView(name, old=pod)


def _by_name(v: NodeView) -> str:
    return v.name


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
