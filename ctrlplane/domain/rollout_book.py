"""Per-daemon-set rollout bookkeeping kept by the fold: each node's pod, classified.

Owns `RolloutBook`, the index the rolling-update planner (controller/rollout.py)
reads instead of scanning every node of a set each pass. Every node the set has
pods on is in exactly one class:

- NEW_READY / NEW_UNREADY: one pod, of the current template, ready or not;
- OLD_READY / OLD_UNREADY: one pod, of an older template, ready or not;
- OTHER: anything else (several pods, a Failed/Succeeded or delete-requested
  pod, a lost or unregistered node): few, and the planner looks at each.

Availability depends on time (ready since T is available at T+minReadySeconds),
so the book keeps no availability, only readiness and `ready_at` (the pod's
ready_since) for the ready classes, plus `ready_log`, those times sorted, so
the planner finds the pods that became ready within the last minReadySeconds
by walking back from the end. Stale log entries (the node left the ready
classes or became ready again later) are skipped by the reader and compacted
away here. `old_ready_sorted` lets the planner take the first nodes by name it
has budget for. Pure; the fold (state.py) calls `update` whenever a set's pods
on a node, their readiness, phase or deletion request, the node's lost flag or
registration, or the set's template change. `recount` builds a book from
scratch (tests compare it with the incremental one).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ctrlplane.domain.state import ClusterState, DaemonSetState, NodeState, PodState

NEW_READY = 0
NEW_UNREADY = 1
OLD_READY = 2
OLD_UNREADY = 3
OTHER = 4
CLASSES = 5


def _members() -> tuple[set[str], ...]:
    return tuple(set() for _ in range(CLASSES))


@dataclass(slots=True)
class RolloutBook:
    cls: dict[str, int] = field(default_factory=dict)  # node -> class
    members: tuple[set[str], ...] = field(default_factory=_members)  # class -> nodes
    old_ready_sorted: list[str] = field(default_factory=list)  # OLD_READY, by name
    ready_at: dict[str, float] = field(default_factory=dict)  # ready classes: ready_since
    ready_log: list[tuple[float, str]] = field(default_factory=list)  # sorted; may be stale

    def update(
        self,
        node_name: str,
        pods: list[PodState],
        node: NodeState | None,
        template_hash: str,
    ) -> None:
        """Re-classify one node from its pods of the set (empty: forget the node)."""
        if not pods:
            self._set(node_name, -1, 0.0)
            return
        c, since = classify(pods, node, template_hash)
        self._set(node_name, c, since)

    def update_one(
        self, node_name: str, pod: PodState, node: NodeState | None, template_hash: str
    ) -> None:
        """`update` for a node with one pod of the set (the fold's hot path)."""
        c, since = classify((pod,), node, template_hash)
        self._set(node_name, c, since)

    def _set(self, node_name: str, c: int, since: float) -> None:
        old = self.cls.get(node_name, -1)
        if old == c and c != NEW_READY and c != OLD_READY:
            return  # e.g. a pod scheduled where it replaces none (NEW_UNREADY again)
        if old != c:
            if old >= 0:
                self.members[old].discard(node_name)
                if old == OLD_READY:
                    sorted_ = self.old_ready_sorted
                    del sorted_[bisect_left(sorted_, node_name)]
            if c >= 0:
                self.cls[node_name] = c
                self.members[c].add(node_name)
                if c == OLD_READY:
                    insort(self.old_ready_sorted, node_name)
            else:
                del self.cls[node_name]
        if c in (NEW_READY, OLD_READY):
            if self.ready_at.get(node_name) != since or old not in (NEW_READY, OLD_READY):
                self.ready_at[node_name] = since
                self._log(since, node_name)
        else:
            self.ready_at.pop(node_name, None)

    def _log(self, since: float, node_name: str) -> None:
        log = self.ready_log
        if len(log) > 2 * len(self.ready_at) + 64:
            # Compact: keep one entry per ready node (amortised O(1) per append).
            log[:] = sorted((t, n) for n, t in self.ready_at.items() if n != node_name)
        if not log or log[-1] <= (since, node_name):
            log.append((since, node_name))  # the usual case: event times only grow
        else:
            insort(log, (since, node_name))

    def recent(self, now: float, min_ready: int) -> Iterable[str]:
        """Nodes of the ready classes whose pod is not available yet at `now`."""
        log = self.ready_log
        ready_at = self.ready_at
        seen: set[str] = set()
        for i in range(len(log) - 1, -1, -1):
            since, name = log[i]
            if since + min_ready <= now:
                break  # sorted: every earlier entry is available too
            if name in seen or ready_at.get(name) != since:
                continue  # stale, or logged twice
            seen.add(name)
            yield name


def classify(
    pods: Sequence[PodState], node: NodeState | None, template_hash: str
) -> tuple[int, float]:
    """A node's class and (for the ready classes) the pod's ready_since."""
    if node is None or node.lost or len(pods) != 1:
        return OTHER, 0.0
    pod = pods[0]
    if pod.delete_requested or pod.phase == "Failed" or pod.phase == "Succeeded":
        return OTHER, 0.0
    since = pod.ready_since
    current = pod.revision_hash == template_hash
    if pod.ready and since is not None:
        return (NEW_READY if current else OLD_READY), since
    return (NEW_UNREADY if current else OLD_UNREADY), 0.0


def recount(state: ClusterState, ds: DaemonSetState) -> RolloutBook:
    """The book of `ds` built from scratch (what the incremental one must equal)."""
    book = RolloutBook()
    for node_name in sorted(ds.pods_by_node):
        pods = state.daemon_pods_on_node(ds, node_name)
        book.update(node_name, pods, state.nodes.get(node_name), ds.template_hash)
    return book


def same(a: RolloutBook, b: RolloutBook) -> list[str]:
    """How two books differ in what the planner reads (empty: they agree)."""
    out: list[str] = []
    if a.cls != b.cls:
        out.append(f"classes {a.cls} != {b.cls}")
    if a.members != b.members:
        out.append(f"members {a.members} != {b.members}")
    if a.old_ready_sorted != b.old_ready_sorted:
        out.append(f"old_ready_sorted {a.old_ready_sorted} != {b.old_ready_sorted}")
    if a.ready_at != b.ready_at:
        out.append(f"ready_at {a.ready_at} != {b.ready_at}")
    for book in (a, b):
        if book.ready_log != sorted(book.ready_log):
            out.append(f"ready_log not sorted: {book.ready_log}")
        logged = {(n, t) for t, n in book.ready_log}
        missing = [n for n, t in book.ready_at.items() if (n, t) not in logged]
        if missing:
            out.append(f"ready nodes not logged: {missing}")
    return out
