"""Which (daemon set, nodes) pairs a batch of folded events asks the controller to look at.

Owns the translation of `Touched` into reconcile work, so the loop works in
proportion to what changed: a set touched as a whole is reconciled on every
node, a node fact reconciles every set on that node only, and a change in the
pods on a node reaches the sets whose required pod (anti-)affinity may see it.
Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from ctrlplane.domain.state import ClusterState, DsKey, Touched

# None: every node.
Work = dict[DsKey, set[str] | None]


def add_work(work: Work, key: DsKey, nodes: Iterable[str] | None) -> None:
    """Add `nodes` of a set to `work`; None widens the set to every node."""
    if key in work:
        have = work[key]
        if have is None:
            return
        if nodes is None:
            work[key] = None
        else:
            have.update(nodes)
    else:
        work[key] = None if nodes is None else set(nodes)


def work_for(state: ClusterState, touched: Iterable[Touched]) -> Work:
    """Merge the touched sets of a batch of events into reconcile calls.

    Call `reconcile(state, key, now, nodes=nodes)` for each item, in sorted key order.
    """
    work: Work = {}
    pods_changed = False
    for t in touched:
        nodes = None if t.all_nodes else t.nodes
        keys = state.daemon_sets.keys() if t.all_daemon_sets else t.daemon_sets
        for key in keys:
            add_work(work, key, nodes)  # an empty set: set-level work only (rollout bookkeeping)
        pods_changed = pods_changed or t.pods_changed
    if pods_changed:
        for key, ds in state.daemon_sets.items():
            if not ds.deleted and ds.compiled().pod_affinity.required:
                add_work(work, key, None)
    return {k: work[k] for k in sorted(work)}
