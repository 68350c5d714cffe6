"""A folded ClusterState as plain data (for `-o json` and diffs) and as text tables.

Owns what a replay shows of a state: daemon sets with revision and status
counters, nodes with labels, taints and readiness, pods per node, and the
`ds/NAME` / `node/NAME` filters. Pure: it reads the state, never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format

from ctrlplane.domain.state import ClusterState, DaemonSetState, NodeState, PodState
from ctrlplane.domain.status import compute_status

STATUS_COLUMNS = [
    ("DESIRED", "desiredNumberScheduled"),
    ("CURRENT", "currentNumberScheduled"),
    ("READY", "numberReady"),
    ("UP-TO-DATE", "updatedNumberScheduled"),
    ("AVAILABLE", "numberAvailable"),
    ("UNAVAILABLE", "numberUnavailable"),
    ("MISSCHEDULED", "numberMisscheduled"),
]


@dataclass(frozen=True, slots=True)
class Filter:
    """`ds/NAME` (or `ds/NS/NAME`) and/or `node/NAME`; empty matches everything."""

    daemon_set: tuple[str | None, str] | None = None  # (namespace or any, name)
    node: str | None = None

    @classmethod
    def parse(cls, specs: list[str]) -> Filter:
        daemon_set: tuple[str | None, str] | None = None
        node: str | None = None
        for spec in specs:
            kind, _, rest = spec.partition("/")
            if kind in ("ds", "daemonset", "daemonsets") and rest:
                ns, _, name = rest.rpartition("/")
                daemon_set = (ns or None, name)
            elif kind in ("node", "nodes", "no") and rest:
                node = rest
            else:
                raise ValueError(f"filter {spec!r}: expected ds/NAME or node/NAME")
        return cls(daemon_set, node)

    def match_ds(self, key: tuple[str, str]) -> bool:
        if self.daemon_set is None:
            return True
        ns, name = self.daemon_set
        return name == key[1] and (ns is None or ns == key[0])


def format_time(t: float) -> str:
    if t <= 0:
        return "-"
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def node_ready(node: NodeState) -> bool:
    """Ready as the replay shows it: an agent is connected and the node is not lost."""
    return node.connected and not node.lost


def _ds_view(state: ClusterState, ds: DaemonSetState, now: float) -> dict[str, Any]:
    status = compute_status(state, ds, now)
    spec = ds.obj.spec
    strategy = spec.update_strategy
    return {
        "namespace": ds.key[0],
        "name": ds.key[1],
        "generation": ds.obj.metadata.generation,
        "revision": ds.revision,
        "templateHash": ds.template_hash,
        "deleted": ds.deleted,
        "paused": ds.paused,
        "updateStrategy": {
            "type": strategy.type,
            "maxUnavailable": strategy.rolling_update.max_unavailable,
            "maxSurge": strategy.rolling_update.max_surge,
        },
        "status": json_format.MessageToDict(
            status, always_print_fields_with_no_presence=True
        ),
        "template": json_format.MessageToDict(spec.template),
        "revisions": [
            {"revision": r.revision, "hash": r.hash, "changeCause": r.change_cause}
            for r in ds.revisions
        ],
    }


def _node_view(node: NodeState) -> dict[str, Any]:
    return {
        "name": node.node.metadata.name,
        "labels": dict(sorted(node.node.metadata.labels.items())),
        "taints": [
            {"key": t.key, "value": t.value, "effect": t.effect} for t in node.node.spec.taints
        ],
        "unschedulable": node.node.spec.unschedulable,
        "ready": node_ready(node),
        "connected": node.connected,
        "lost": node.lost,
    }


def _pod_view(pod: PodState) -> dict[str, Any]:
    return {
        "namespace": pod.key[0],
        "name": pod.key[1],
        "node": pod.node_name,
        "daemonSet": "/".join(pod.owner) if pod.owner else "",
        "revision": pod.revision,
        "revisionHash": pod.revision_hash,
        "phase": pod.phase,
        "ready": pod.ready,
        "restartCount": pod.restart_count,
        "deleteRequested": pod.delete_requested,
        "static": pod.static,
        "scheduledSeq": pod.scheduled_seq,
    }


def cluster_view(
    state: ClusterState, now: float | None = None, filt: Filter | None = None
) -> dict[str, Any]:
    """The state as JSON-ready data; `now` (default: the last event's time) drives status."""
    filt = filt or Filter()
    at = state.time if now is None else now
    pods = [
        p
        for p in state.pods.values()
        if (filt.daemon_set is None or (p.owner is not None and filt.match_ds(p.owner)))
        and (filt.node is None or p.node_name == filt.node)
    ]
    if filt.node is not None:
        ds_keys = {p.owner for p in pods if p.owner is not None}
        daemon_sets = [
            ds for k, ds in state.daemon_sets.items() if k in ds_keys and filt.match_ds(k)
        ]
    else:
        daemon_sets = [ds for k, ds in state.daemon_sets.items() if filt.match_ds(k)]
    if filt.node is not None:
        nodes = [n for name, n in state.nodes.items() if name == filt.node]
    elif filt.daemon_set is not None:
        hosting = {p.node_name for p in pods}
        nodes = [n for name, n in state.nodes.items() if name in hosting]
    else:
        nodes = list(state.nodes.values())
    return {
        "seq": state.seq,
        "time": at,
        "timeText": format_time(at),
        "daemonSets": [_ds_view(state, ds, at) for ds in sorted(daemon_sets, key=lambda d: d.key)],
        "nodes": [_node_view(n) for n in sorted(nodes, key=lambda n: n.node.metadata.name)],
        "pods": [
            _pod_view(p) for p in sorted(pods, key=lambda p: (p.node_name, p.key[0], p.key[1]))
        ],
    }


# ---- text ------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    """kubectl-style columns: left aligned, three spaces apart."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [headers, *rows]]
    return "\n".join(lines)


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "<none>"


def _taints(taints: list[dict[str, str]]) -> str:
    return ",".join(
        f"{t['key']}{'=' + t['value'] if t['value'] else ''}:{t['effect']}" for t in taints
    ) or "<none>"


def render_text(view: dict[str, Any]) -> str:
    out = [f"State at seq {view['seq']} ({view['timeText']})", ""]
    ds_rows = []
    for ds in view["daemonSets"]:
        status = ds["status"]
        flags = "deleted" if ds["deleted"] else ("paused" if ds["paused"] else "")
        ds_rows.append(
            [ds["namespace"], ds["name"], f"{ds['revision']} ({ds['templateHash'][:10]})",
             str(ds["generation"])]
            + [str(status.get(field, 0)) for _, field in STATUS_COLUMNS]
            + [flags]
        )
    out.append("DAEMONSETS")
    out.append(table(["NAMESPACE", "NAME", "REVISION", "GEN"]
                     + [h for h, _ in STATUS_COLUMNS] + [""], ds_rows) if ds_rows else "(none)")
    out.append("")
    node_rows = [
        [n["name"], "Ready" if n["ready"] else ("Lost" if n["lost"] else "NotReady"),
         "yes" if n["unschedulable"] else "", _labels(n["labels"]), _taints(n["taints"])]
        for n in view["nodes"]
    ]
    out.append("NODES")
    out.append(table(["NAME", "STATUS", "CORDONED", "LABELS", "TAINTS"], node_rows)
               if node_rows else "(none)")
    out.append("")
    pod_rows = [
        [p["node"], p["name"], p["daemonSet"] or ("<static>" if p["static"] else "-"),
         str(p["revision"]), p["phase"], "1/1" if p["ready"] else "0/1",
         str(p["restartCount"])]
        for p in view["pods"]
    ]
    out.append("PODS")
    out.append(table(["NODE", "POD", "DAEMONSET", "REVISION", "PHASE", "READY", "RESTARTS"],
                     pod_rows) if pod_rows else "(none)")
    return "\n".join(out) + "\n"
