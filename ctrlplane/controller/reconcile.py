"""reconcile(state, key, now): the controller's pure decision for one daemon set.

Owns the order of a pass: a deleted set deletes its pods; a passed progress
deadline fails the rollout (and may roll back, which ends the pass); then
per-node placement (placement.py) over the nodes in scope, in sorted order; then
the rolling-update planner and rollout bookkeeping (rollout.py). Decisions go to
the daemon set's stream; `wake_at` is the earliest time the answer may change
without a new event (a back-off ending, a pod becoming available after
minReadySeconds, a progress deadline). Pure: no clock, no I/O, deterministic.

With `nodes`, only those nodes get placement work (an incremental pass after
events that touched them); a spec with required pod (anti-)affinity is always
evaluated on every node, because a pod anywhere in a domain can change the
verdict for another node.
"""

from __future__ import annotations

from collections.abc import Collection

from ctrlplane.controller import rollout
from ctrlplane.controller.decisions import Decision, Pass, ReconcileResult
from ctrlplane.controller.placement import REASON_DS_DELETED, NodeView, delete_all, place
from ctrlplane.domain.state import ClusterState, DsKey

__all__ = ["Decision", "ReconcileResult", "reconcile"]


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

    if rollout.check_deadline(p):
        return p.result()

    if nodes is None or ds.compiled().pod_affinity.required:
        scope = sorted(state.nodes.keys() | ds.pods_by_node.keys())
    else:
        scope = sorted(nodes)
    scoped: dict[str, NodeView | None] = {}
    for node_name in scope:
        scoped[node_name] = place(p, node_name)
    rollout.plan(p, scoped)
    return p.result()
