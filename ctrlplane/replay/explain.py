"""Why the controller placed, kept, replaced or deleted a pod (`--explain`).

For `pod/NAME` (or `node/NAME ds/NAME`) it finds the decisions about that pod
(or about that daemon set on that node), folds the log to each decision's
cause_seq and asks the same code reconcile uses what it saw there: the
eligibility verdict for the node (which selector term, taint or pod-affinity
rule decided), the rollout budget (maxUnavailable / maxSurge resolved against
the desired count, and how many nodes were unavailable), or the failure
back-off. It also re-runs reconcile at that point to say whether today's code
still makes the same decision. Read-only over a LogSource; pure otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import ClusterState, DsKey, fold
from ctrlplane.domain.streams import (
    daemon_set_stream,
    event_type,
    namespace_or_default,
    node_stream,
)
from ctrlplane.replay.check import decision_dict, payload_of
from ctrlplane.replay.diff import describe
from ctrlplane.replay.sources import LogSource
from ctrlplane.replay.timetravel import At, batches_until, events_until
from ctrlplane.replay.view import format_time

_DECISIONS = ("pod_scheduled", "pod_deleted")
_POD_FACTS = ("pod_status_reported", "pod_delete_requested")
_NODE_FACTS = ("node_registered", "node_labels_changed", "node_taints_changed", "node_cordoned",
               "node_uncordoned", "node_lost", "node_connected", "node_disconnected",
               "node_deleted")
_DS_FACTS = ("daemon_set_applied", "daemon_set_rolled_back", "daemon_set_deleted",
             "daemon_set_paused", "daemon_set_resumed")


@dataclass(slots=True)
class Step:
    """One event in the pod's story; decisions carry what reconcile saw."""

    seq: int
    time: float
    actor: str
    type: str
    summary: str
    cause_seq: int = 0
    rule: str = ""
    reason: str = ""
    budget: dict[str, Any] | None = None
    backoff: dict[str, Any] | None = None
    reproduced: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__
                if getattr(self, k) not in (None, "")}


@dataclass(slots=True)
class Explanation:
    target: str
    found: bool = False
    daemon_set: str = ""
    node: str = ""
    steps: list[Step] = field(default_factory=list)
    now: dict[str, Any] | None = None  # the verdict at --at for (ds, node)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "found": self.found, "daemonSet": self.daemon_set,
                "node": self.node, "steps": [s.as_dict() for s in self.steps], "now": self.now}


def verdict_at(state: ClusterState, key: DsKey, node: str, now: float) -> dict[str, Any]:
    """The eligibility verdict for (daemon set, node) exactly as a reconcile pass computes it."""
    from ctrlplane.controller.decisions import Pass

    ds = state.daemon_sets.get(key)
    if ds is None:
        return {"rule": "DaemonSetGone", "reason": "the daemon set does not exist",
                "shouldRun": False, "shouldContinue": False}
    if ds.deleted:
        return {"rule": "DaemonSetDeleted", "reason": "the daemon set was deleted",
                "shouldRun": False, "shouldContinue": False}
    verdict = Pass(state, ds, now).verdict(node)
    if verdict is None:
        return {"rule": "NodeNotRegistered", "reason": f"node {node} is not registered",
                "shouldRun": False, "shouldContinue": False}
    return {"rule": verdict.rule, "reason": verdict.reason, "shouldRun": verdict.should_run,
            "shouldContinue": verdict.should_continue}


def budget_at(state: ClusterState, key: DsKey, now: float) -> dict[str, Any]:
    """The rolling-update budget as the planner (controller/rollout.py) counts it at that seq.

    A scratch pass places every node, then counts like `rollout._replace`:
    desired = nodes with a view, lost nodes left out, unavailable = nodes
    whose pod (old or new) is not available or is blocked by a back-off.
    """
    from ctrlplane.controller.decisions import Pass
    from ctrlplane.controller.placement import place
    from ctrlplane.controller.rollout import budget

    ds = state.daemon_sets[key]
    rolling = ds.obj.spec.update_strategy.rolling_update
    p = Pass(state, ds, now)
    views = [v for n in sorted(state.nodes.keys() | ds.pods_by_node.keys())
             if (v := place(p, n)) is not None]
    desired = len(views)
    unavailable = surging = lost = 0
    for v in views:
        if v.lost:
            lost += 1
            continue
        new_unavailable = v.new_pending or (v.new is not None and not p.available(v.new))
        if v.old is None or v.blocked:
            unavailable += int(v.blocked or new_unavailable)
        elif v.new is not None or v.new_pending:
            surging += int(new_unavailable)
        elif not p.available(v.old):
            unavailable += 1
    return {
        "maxUnavailable": rolling.max_unavailable,
        "maxUnavailableResolved": budget(rolling.max_unavailable, desired),
        "maxSurge": rolling.max_surge,
        "maxSurgeResolved": budget(rolling.max_surge, desired),
        "desired": desired,
        "unavailable": unavailable,
        "surging": surging,
        "lostNodes": lost,
        "paused": ds.paused,
    }


def backoff_at(state: ClusterState, key: DsKey, node: str, now: float) -> dict[str, Any] | None:
    from ctrlplane.controller.placement import backoff_seconds

    record = state.failures.get((key, node))
    if record is None:
        return None
    wait = backoff_seconds(record)
    return {"failures": record.count, "lastFailureAt": record.last_at, "backoffSeconds": wait,
            "replaceableAt": record.last_at + wait, "waited": now - record.last_at}


def _reproduced(state: ClusterState, key: DsKey, now: float, event: events_pb2.Event) -> bool:
    from ctrlplane.controller.reconcile import reconcile

    want = payload_of(event)
    node = getattr(getattr(event, event.WhichOneof("kind") or ""), "node_name", "")
    for nodes in (None, {node}):
        if any(d.payload == want for d in reconcile(state, key, now, nodes=nodes).decisions):
            return True
    return False


def _explain_decision(state: ClusterState, event: events_pb2.Event, step: Step) -> None:
    kind = event.WhichOneof("kind")
    body = getattr(event, kind or "")
    key = (body.namespace, body.daemon_set)
    now = event.time
    verdict = verdict_at(state, key, body.node_name, now)
    step.rule, step.reason = verdict["rule"], verdict["reason"]
    reason = body.reason
    if reason in ("RollingUpdate", "Surge") and key in state.daemon_sets:
        step.budget = budget_at(state, key, now)
    if reason in ("Failed", "ReplaceFailed"):
        step.backoff = backoff_at(state, key, body.node_name, now)
    if key in state.daemon_sets:
        step.reproduced = _reproduced(state, key, now, event)


async def _explain(
    source: LogSource, at: At, target: str, wanted: Any, ds_key: DsKey | None, node: str
) -> Explanation:
    """Walk the log once to `at`; at each matching decision, the state is at its cause_seq."""
    explanation = Explanation(target)
    # Pass 1: the events of the story (small), so pass 2 knows where to stop and look.
    story: list[events_pb2.Event] = []
    async for event in events_until(source, at):
        if wanted(event):
            story.append(event)
    # Pass 2: fold, pausing at each decision's cause_seq.
    state = ClusterState()
    by_cause: dict[int, list[events_pb2.Event]] = {}
    for event in story:
        by_cause.setdefault(event.cause_seq, []).append(event)
    steps: dict[int, Step] = {}
    for event in story:
        steps[event.seq] = Step(event.seq, event.time, event.actor, event_type(event),
                                describe(event), event.cause_seq)

    def pause() -> None:
        for event in by_cause.get(state.seq, []):
            if event.WhichOneof("kind") in _DECISIONS:
                _explain_decision(state, event, steps[event.seq])

    pause()  # decisions caused at seq 0, on the empty state
    # The quiet fold (no Touched), in runs that end where a decision was caused.
    async for batch in batches_until(source, at):
        start = 0
        for i, event in enumerate(batch):
            if event.seq in by_cause:
                fold(batch[start : i + 1], state)
                start = i + 1
                pause()
        fold(batch[start:], state)
    explanation.steps = [steps[e.seq] for e in story]
    decisions = [e for e in story if e.WhichOneof("kind") in _DECISIONS]
    explanation.found = bool(decisions)
    if decisions:
        body = getattr(decisions[0], decisions[0].WhichOneof("kind") or "")
        ds_key = ds_key or (body.namespace, body.daemon_set)
        node = node or body.node_name
    if ds_key is not None:
        explanation.daemon_set = "/".join(ds_key)
    explanation.node = node
    if ds_key is not None and node:
        now = at.time if at.time is not None else state.time
        explanation.now = {"seq": state.seq, **verdict_at(state, ds_key, node, now)}
        node_state = state.nodes.get(node)
        explanation.now["nodeLost"] = bool(node_state and node_state.lost)
        pods = [p.key[1] for p in state.daemon_pods_on_node(state.daemon_sets[ds_key], node)
                ] if ds_key in state.daemon_sets else []
        explanation.now["pods"] = sorted(pods)
    return explanation


def _is_context(event: events_pb2.Event, node: str, ds_stream: str) -> bool:
    """Facts that change a verdict or a budget: the node's labels, taints, link; the set's spec."""
    kind = event.WhichOneof("kind")
    if event.stream == node_stream(node):
        return kind in _NODE_FACTS
    return event.stream == ds_stream and kind in _DS_FACTS


async def explain_pod(source: LogSource, pod: str, at: At) -> Explanation:
    # The pod's node and set are known from its PodScheduled on; from then until
    # its PodDeleted the story also tells what happened to that node and set.
    alive: dict[str, str] = {}

    def wanted(event: events_pb2.Event) -> bool:
        kind = event.WhichOneof("kind")
        if kind in _DECISIONS + _POD_FACTS and getattr(event, kind).pod_name == pod:
            if kind == "pod_scheduled":
                body = event.pod_scheduled
                alive["node"] = body.node_name
                alive["ds"] = daemon_set_stream(body.namespace, body.daemon_set)
            elif kind == "pod_deleted":
                alive.clear()
            return True
        return bool(alive) and _is_context(event, alive["node"], alive["ds"])

    return await _explain(source, at, f"pod/{pod}", wanted, None, "")


async def explain_node(source: LogSource, node: str, ds: str, at: At) -> Explanation:
    ns, _, name = ds.rpartition("/")
    ns = namespace_or_default(ns)
    ds_stream = daemon_set_stream(ns, name)

    def wanted(event: events_pb2.Event) -> bool:
        kind = event.WhichOneof("kind")
        if kind in _DECISIONS:
            body = getattr(event, kind)
            return bool(body.node_name == node and body.daemon_set == name
                        and body.namespace == ns)
        return _is_context(event, node, ds_stream)

    explanation = await _explain(source, at, f"node/{node} ds/{ns}/{name}", wanted,
                                 (ns, name), node)
    explanation.found = explanation.found or explanation.now is not None
    return explanation


def render_explanation(e: Explanation) -> str:
    if not e.steps and e.now is None:
        return f"{e.target}: no decision about it in this log\n"
    out = [f"{e.target}" + (f" (ds/{e.daemon_set} on node {e.node})" if e.daemon_set else "")]
    for s in e.steps:
        cause = f" <-cause {s.cause_seq}" if s.cause_seq else ""
        out.append(f"  seq {s.seq:<6} {format_time(s.time)}  {s.actor:<14} {s.type:<18} "
                   f"{s.summary}{cause}")
        if s.rule:
            out.append(f"      eligibility at seq {s.cause_seq}: {s.rule}: {s.reason}")
        if s.budget is not None:
            b = s.budget
            out.append(
                f"      budget: maxUnavailable {b['maxUnavailable'] or '0'} -> "
                f"{b['maxUnavailableResolved']} of {b['desired']} desired, maxSurge "
                f"{b['maxSurge'] or '0'} -> {b['maxSurgeResolved']}; unavailable "
                f"{b['unavailable']}, surging {b['surging']}"
                + (", paused" if b["paused"] else "")
                + (f", {b['lostNodes']} lost node(s) left out" if b["lostNodes"] else ""))
        if s.backoff is not None:
            b = s.backoff
            out.append(f"      back-off: {b['failures']} failure(s) on this node, wait "
                       f"{b['backoffSeconds']:g} s, waited {b['waited']:.1f} s")
        if s.reproduced is not None:
            out.append("      today's reconcile: "
                       + ("makes the same decision" if s.reproduced else "DECIDES DIFFERENTLY"))
    if e.now is not None:
        pods = ", ".join(e.now.get("pods", [])) or "none"
        lost = (" The node is lost: the rollout leaves it out until it is back."
                if e.now.get("nodeLost") else "")
        if e.now.get("shouldContinue") and not e.now.get("shouldRun"):
            lost += " No new pod would be placed here, but a running one is kept."
        out.append(f"  now (seq {e.now['seq']}): {e.now['rule']}: {e.now['reason']}; "
                   f"pods of ds/{e.daemon_set} there: {pods}.{lost}")
    return "\n".join(out) + "\n"


__all__ = ["Explanation", "Step", "decision_dict", "explain_node", "explain_pod",
           "render_explanation"]
