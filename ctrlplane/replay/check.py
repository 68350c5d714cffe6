"""The decision check: does today's reconcile still make the decisions a log recorded?

A *decision* is an event with actor "controller" on a daemon set's stream
(PodScheduled, PodDeleted, RolloutCompleted, RolloutFailed, an automatic
DaemonSetRolledBack). The live controller appends the decisions of one
reconcile pass together, all with the same `cause_seq` (the seq its state was
folded to) and `time` (the `now` it used). So the check walks the log, cuts
it into *passes* (consecutive decisions with the same cause_seq and time),
and for each daemon set in a pass:

1. folds the log up to `cause_seq` (never further: the decisions themselves
   and anything appended meanwhile come after it);
2. runs `reconcile(state, key, time)` and compares the produced payloads with
   the recorded ones, in order.

The rule (sound for the incremental controller): a recorded pass is
reproduced when it equals the full reconcile exactly; or it is a
subsequence of it (the live pass was limited with `nodes=` and did part of
the same work, in the same order: nodes are always visited sorted); or it
equals `reconcile(..., nodes=<the nodes its decisions name>)` exactly (a
limited pass whose budgeted choices depend on the subset). Order counts: the
same decisions in another order are a divergence.
Anything else is a divergence: the first recorded decision that was not
reproduced is reported with both sides and its seq. Decisions the controller
would make but never recorded are not divergences (a plane may have been
killed between reconcile and append); the check is about what was written.

Why the rule holds: the live loop limits a pass to the nodes touched since its
last pass, and placement on a node depends only on that node (pod
(anti-)affinity specs are always reconciled on every node), so a limited pass
is a part of the full one. The exception is the rolling-update planner, which
budgets over all nodes: the third form covers it. A pass limited to nodes that
were NOT all the touched ones can disagree with both (seen with random subsets:
an out-of-scope node whose labels changed has its old pod removed by the
planner as RollingUpdate, where the full pass says NodeIneligible); the live
loop never makes such a pass, and a property test replays random histories
whose passes are chosen exactly as the loop chooses them.

While walking, the check also verifies the invariant the controller exists
for: after every PodScheduled, a node holds at most one pod of a daemon set
per revision and, without maxSurge, at most one pod of it at all.

Pure over the folded state; reads the log only through a LogSource.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import ClusterState, DsKey, fold
from ctrlplane.domain.streams import (
    DAEMON_SET_PREFIX,
    daemon_set_key,
    daemon_set_stream,
    event_type,
)
from ctrlplane.replay.sources import LogSource
from ctrlplane.replay.timetravel import At, batches_until

CONTROLLER = "controller"


def _ds_key(stream: str) -> DsKey:
    key = daemon_set_key(stream)
    assert key is not None, stream  # only decisions (daemon-set streams) get here
    return key


def is_decision(event: events_pb2.Event) -> bool:
    return event.actor == CONTROLLER and event.stream.startswith(DAEMON_SET_PREFIX)


def payload_of(event: events_pb2.Event) -> events_pb2.Event:
    """The event with its envelope cleared: what reconcile produces."""
    bare = events_pb2.Event()
    kind = event.WhichOneof("kind")
    if kind is not None:
        getattr(bare, kind).CopyFrom(getattr(event, kind))
    return bare


def decision_dict(payload: events_pb2.Event) -> dict[str, Any]:
    kind = payload.WhichOneof("kind")
    if kind is None:
        return {"type": None}
    return {"type": event_type(payload), **json_format.MessageToDict(getattr(payload, kind))}


def _nodes_named(payloads: list[events_pb2.Event]) -> set[str]:
    nodes: set[str] = set()
    for p in payloads:
        kind = p.WhichOneof("kind")
        if kind in ("pod_scheduled", "pod_deleted"):
            nodes.add(getattr(p, kind).node_name)
    return nodes


@dataclass(slots=True)
class Divergence:
    seq: int  # the first recorded decision that was not reproduced
    cause_seq: int
    time: float
    daemon_set: DsKey
    recorded: dict[str, Any]
    produced: dict[str, Any] | None  # reconcile's decision at the same place, if any
    recorded_pass: list[dict[str, Any]]
    produced_pass: list[dict[str, Any]]

    def text(self) -> str:
        ns, name = self.daemon_set
        lines = [
            f"DIVERGENCE at seq {self.seq} (ds/{ns}/{name}, cause_seq {self.cause_seq}, "
            f"time {self.time!r})",
            f"  recorded:  {self.recorded}",
            f"  reconcile: {self.produced if self.produced is not None else '(nothing)'}",
            "  recorded pass:",
            *[f"    {d}" for d in self.recorded_pass],
            "  reconcile pass:",
            *([f"    {d}" for d in self.produced_pass] or ["    (no decisions)"]),
        ]
        return "\n".join(lines)


@dataclass(slots=True)
class Violation:
    seq: int
    message: str


@dataclass(slots=True)
class CheckReport:
    events: int = 0
    decisions: int = 0
    passes: int = 0
    partial_passes: int = 0
    divergence: Divergence | None = None
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.violations

    def text(self) -> str:
        head = (
            f"checked {self.events} events: {self.decisions} decisions in {self.passes} passes "
            f"({self.partial_passes} partial)"
        )
        parts = [head]
        if self.divergence is not None:
            parts.append(self.divergence.text())
        parts.extend(f"INVARIANT at seq {v.seq}: {v.message}" for v in self.violations)
        parts.append("OK" if self.ok else "FAILED")
        return "\n".join(parts)

    def as_dict(self) -> dict[str, Any]:
        div = self.divergence
        return {
            "ok": self.ok,
            "events": self.events,
            "decisions": self.decisions,
            "passes": self.passes,
            "partialPasses": self.partial_passes,
            "divergence": None if div is None else {
                "seq": div.seq, "causeSeq": div.cause_seq, "time": div.time,
                "daemonSet": "/".join(div.daemon_set), "recorded": div.recorded,
                "produced": div.produced, "recordedPass": div.recorded_pass,
                "producedPass": div.produced_pass,
            },
            "violations": [{"seq": v.seq, "message": v.message} for v in self.violations],
        }


Reconciler = Callable[..., Any]


def _default_reconcile() -> Reconciler:
    from ctrlplane.controller.reconcile import reconcile

    return reconcile


def compare_pass(
    state: ClusterState,
    key: DsKey,
    now: float,
    recorded: list[events_pb2.Event],
    reconcile: Reconciler,
) -> tuple[str, Divergence | None]:
    """Compare one daemon set's recorded decisions of one pass; ("exact"|"partial", None) or a
    divergence."""
    stream = daemon_set_stream(*key)
    want = [payload_of(e) for e in recorded]
    full = [d.payload for d in reconcile(state, key, now).decisions if d.stream == stream]
    if full == want:
        return "exact", None
    if _is_subsequence(want, full):
        return "partial", None
    limited = [
        d.payload
        for d in reconcile(state, key, now, nodes=_nodes_named(want)).decisions
        if d.stream == stream
    ]
    if limited == want:
        return "partial", None
    # Report against the full pass: it is what today's controller decides here.
    index = next(
        (i for i, (w, f) in enumerate(zip(want, full, strict=False)) if w != f),
        min(len(want), len(full)),
    )
    index = min(index, len(want) - 1)
    produced = full[index] if index < len(full) else None
    return "diverged", Divergence(
        seq=recorded[index].seq,
        cause_seq=recorded[index].cause_seq,
        time=now,
        daemon_set=key,
        recorded=decision_dict(want[index]),
        produced=None if produced is None else decision_dict(produced),
        recorded_pass=[decision_dict(p) for p in want],
        produced_pass=[decision_dict(p) for p in full],
    )


def _is_subsequence(part: list[events_pb2.Event], whole: list[events_pb2.Event]) -> bool:
    """`part` is `whole` with some decisions left out, the rest in the same order."""
    rest = iter(whole)
    return all(any(item == candidate for candidate in rest) for item in part)


def _max_surge_allowed(state: ClusterState, key: DsKey) -> bool:
    ds = state.daemon_sets.get(key)
    if ds is None:
        return False
    strategy = ds.obj.spec.update_strategy
    surge = strategy.rolling_update.max_surge.strip()
    return strategy.type == "RollingUpdate" and surge not in ("", "0", "0%")


def check_invariants(state: ClusterState, event: events_pb2.Event) -> Violation | None:
    """After folding `event`: no node holds two pods of one daemon set (of one revision, with
    maxSurge)."""
    if event.WhichOneof("kind") != "pod_scheduled":
        return None
    scheduled = event.pod_scheduled
    key = (scheduled.namespace, scheduled.daemon_set)
    node = scheduled.node_name
    ds = state.daemon_sets.get(key)
    names_here = ds.pods_by_node.get(node, set()) if ds is not None else set()
    pods = [state.pods[(key[0], n)] for n in names_here if (key[0], n) in state.pods]
    if len(pods) <= 1:
        return None
    hashes = Counter(p.revision_hash for p in pods)
    if _max_surge_allowed(state, key) and len(pods) == 2 and max(hashes.values()) == 1:
        return None
    names = ", ".join(sorted(p.key[1] for p in pods))
    return Violation(event.seq, f"node {node} has {len(pods)} pods of ds/{key[0]}/{key[1]}: "
                                f"{names}")


class _Lagging:
    """The state folded only up to a cause_seq, fed from a buffer of events already read.

    It folds every event once in the end (the tail is drained), so the
    invariant is checked here too, as each event is folded for the first time.
    """

    def __init__(self, source: LogSource, report: CheckReport, invariants: bool) -> None:
        self.source = source
        self.report = report
        self.invariants = invariants
        self.state = ClusterState()
        self.pending: deque[events_pb2.Event] = deque()
        self.checked = 0  # the last seq the invariant was checked at

    def _fold(self, events: list[events_pb2.Event]) -> None:
        """Fold `events` in order with the quiet fold (the check reads no Touched),
        stopping after each PodScheduled folded for the first time to check the invariant."""
        if not events:
            return
        state = self.state
        if self.invariants:
            checked, start = self.checked, 0
            for i, event in enumerate(events):
                if event.seq > checked and event.HasField("pod_scheduled"):
                    fold(events[start : i + 1], state)
                    start = i + 1
                    violation = check_invariants(state, event)
                    if violation is not None:
                        self.report.violations.append(violation)
            fold(events[start:], state)
            self.checked = max(checked, events[-1].seq)
        else:
            fold(events, state)

    async def advance_to(self, seq: int | None) -> None:
        """Fold the buffered events up to `seq` (None: all of them)."""
        if seq is not None and seq < self.state.seq:
            # A pass computed from an older state than the last one (two
            # controllers, or a clock of causes going backwards): refold.
            old = self.state.seq
            self.state = ClusterState()
            async for batch in self.source.iterate(0, until_seq=seq):
                self._fold(batch)
            refetched: list[events_pb2.Event] = []
            async for batch in self.source.iterate(seq, until_seq=old):
                refetched.extend(batch)
            self.pending.extendleft(reversed(refetched))
            return
        pending = self.pending
        if seq is None:
            due = list(pending)
            pending.clear()
        else:
            due = []
            while pending and pending[0].seq <= seq:
                due.append(pending.popleft())
        self._fold(due)


async def check_log(
    source: LogSource,
    *,
    reconcile: Reconciler | None = None,
    until_seq: int | None = None,
    at: At | None = None,
    invariants: bool = True,
) -> CheckReport:
    """Walk the log; stop at the first divergence. See the module docstring for the rule.

    Only the log up to `at` is checked (a seq or a time, cut where `dsctl replay --at`
    cuts: before the first event later than the time); `until_seq=N` is `at=At(seq=N)`.
    """
    if at is not None and until_seq is not None:
        raise ValueError("give check_log until_seq or at, not both")
    stop = at if at is not None else At(seq=until_seq)
    rec = reconcile if reconcile is not None else _default_reconcile()
    report = CheckReport()
    lagging = _Lagging(source, report, invariants)
    run: list[events_pb2.Event] = []

    def check_run() -> Divergence | None:
        cause_seq, now = run[0].cause_seq, run[0].time
        by_ds: dict[DsKey, list[events_pb2.Event]] = {}
        for event in run:
            by_ds.setdefault(_ds_key(event.stream), []).append(event)
        for key, recorded in by_ds.items():
            report.passes += 1
            report.decisions += len(recorded)
            verdict, divergence = compare_pass(lagging.state, key, now, recorded, rec)
            if divergence is not None:
                divergence.cause_seq = cause_seq
                return divergence
            if verdict == "partial":
                report.partial_passes += 1
        return None

    async def close_run() -> bool:
        nonlocal run
        if not run:
            return True
        await lagging.advance_to(run[0].cause_seq)
        report.divergence = check_run()
        run = []
        return report.divergence is None

    async for batch in batches_until(source, stop):
        for event in batch:
            report.events += 1
            decision = is_decision(event)
            if run and not (
                decision
                and event.cause_seq == run[0].cause_seq
                and event.time == run[0].time
            ) and not await close_run():
                return report
            if decision:
                run.append(event)
            lagging.pending.append(event)
    if await close_run():
        await lagging.advance_to(None)
    return report
