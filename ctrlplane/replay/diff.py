"""What changed between two moments of a log (`--diff A..B`).

Compares two cluster views (ctrlplane/replay/view.py) folded to A and to B:
template changes as a unified YAML diff, generation/revision, node labels,
taints and readiness, pods that appeared, went away, were replaced on the
same node, or moved, status counters; and lists the events in between with
their actors. Pure over views and events; it folds nothing itself.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml
from google.protobuf import json_format

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.domain.state import ClusterState, fold
from ctrlplane.domain.streams import daemon_set_stream, event_type, node_stream
from ctrlplane.replay.sources import LogSource
from ctrlplane.replay.timetravel import At, batches_until, view_time
from ctrlplane.replay.view import Filter, cluster_view, format_time


@dataclass(frozen=True, slots=True)
class Range:
    start: str  # each side is an `At` text: a seq or a time
    end: str

    @classmethod
    def parse(cls, text: str) -> Range:
        start, sep, end = text.partition("..")
        if not sep or not start or not end:
            raise ValueError(f"--diff {text!r}: expected A..B (seqs or times)")
        return cls(start, end)


def describe(event: events_pb2.Event) -> str:
    """A one-line summary of an event's payload."""
    kind = event.WhichOneof("kind")
    if kind is None:
        return ""
    body = getattr(event, kind)
    if kind == "pod_scheduled":
        return (f"pod {body.pod_name} on {body.node_name} rev {body.revision} "
                f"({body.reason or '-'})")
    if kind == "pod_deleted":
        msg = f": {body.message}" if body.message else ""
        return f"pod {body.pod_name} on {body.node_name} ({body.reason or '-'}){msg}"
    if kind == "pod_status_reported":
        ready = "ready" if body.ready else "not ready"
        return f"pod {body.pod_name} {body.phase} {ready} restarts={body.restart_count}"
    if kind in ("daemon_set_applied", "daemon_set_rolled_back"):
        meta = body.daemon_set.metadata
        extra = f" to revision {body.to_revision}" if kind == "daemon_set_rolled_back" else ""
        return f"{meta.namespace}/{meta.name} generation {meta.generation}{extra}"
    if kind == "node_registered":
        meta, spec = body.node.metadata, body.node.spec
        labels = ",".join(f"{k}={v}" for k, v in sorted(meta.labels.items())) or "<no labels>"
        taints = ",".join(f"{t.key}={t.value}:{t.effect}" for t in spec.taints)
        return f"{meta.name} {labels}" + (f" taints {taints}" if taints else "")
    if kind == "node_labels_changed":
        return ",".join(f"{k}={v}" for k, v in sorted(body.labels.items())) or "<no labels>"
    data = json_format.MessageToDict(body)
    text = ", ".join(f"{k}={v}" for k, v in data.items())
    return text if len(text) <= 120 else text[:117] + "..."


def event_row(event: events_pb2.Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "time": event.time,
        "actor": event.actor,
        "stream": event.stream,
        "type": event_type(event),
        "causeSeq": event.cause_seq,
        "summary": describe(event),
    }


def _by(items: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(item[k] for k in keys): item for item in items}


def _template_diff(a: dict[str, Any] | None, b: dict[str, Any] | None, name: str) -> list[str]:
    def dump(t: dict[str, Any] | None) -> list[str]:
        return [] if t is None else yaml.safe_dump(t, sort_keys=True).splitlines(keepends=False)

    return list(difflib.unified_diff(dump(a), dump(b), f"{name}@A", f"{name}@B", lineterm=""))


def _map_changes(a: dict[str, str], b: dict[str, str]) -> list[str]:
    out = [f"+{k}={b[k]}" for k in sorted(b.keys() - a.keys())]
    out += [f"-{k}" for k in sorted(a.keys() - b.keys())]
    out += [f"{k}: {a[k]} -> {b[k]}" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    return out


def diff_views(
    a: dict[str, Any], b: dict[str, Any], events: list[events_pb2.Event]
) -> dict[str, Any]:
    """The structured difference from view `a` to view `b`, with the events between."""
    ds_a = _by(a["daemonSets"], "namespace", "name")
    ds_b = _by(b["daemonSets"], "namespace", "name")
    daemon_sets = []
    for key in sorted(ds_a.keys() | ds_b.keys()):
        old, new = ds_a.get(key), ds_b.get(key)
        name = "/".join(key)
        entry: dict[str, Any] = {"name": name}
        if old is None:
            entry["change"] = "created"
        elif new is None:
            entry["change"] = "gone"
        else:
            entry["change"] = "changed"
        for field in ("generation", "revision", "templateHash", "paused", "deleted"):
            va = old.get(field) if old else None
            vb = new.get(field) if new else None
            if va != vb:
                entry[field] = [va, vb]
        sa = old["status"] if old else {}
        sb = new["status"] if new else {}
        status = {k: [sa.get(k), sb.get(k)] for k in sorted(sa.keys() | sb.keys())
                  if sa.get(k) != sb.get(k) and k != "conditions"}
        if status:
            entry["status"] = status
        template = _template_diff(old and old["template"], new and new["template"], name)
        if template:
            entry["templateDiff"] = template
        if len(entry) > 2 or entry["change"] != "changed":
            daemon_sets.append(entry)

    nodes_a, nodes_b = _by(a["nodes"], "name"), _by(b["nodes"], "name")
    nodes = []
    for key in sorted(nodes_a.keys() | nodes_b.keys()):
        old, new = nodes_a.get(key), nodes_b.get(key)
        entry = {"name": key[0],
                 "change": "registered" if old is None else "gone" if new is None else "changed"}
        labels = _map_changes(old["labels"] if old else {}, new["labels"] if new else {})
        if labels:
            entry["labels"] = labels
        ta = {f"{t['key']}={t['value']}:{t['effect']}" for t in (old["taints"] if old else [])}
        tb = {f"{t['key']}={t['value']}:{t['effect']}" for t in (new["taints"] if new else [])}
        taints = [f"+{t}" for t in sorted(tb - ta)] + [f"-{t}" for t in sorted(ta - tb)]
        if taints:
            entry["taints"] = taints
        for field in ("ready", "lost", "unschedulable"):
            va = old.get(field) if old else None
            vb = new.get(field) if new else None
            if old and new and va != vb:
                entry[field] = [va, vb]
        if len(entry) > 2 or entry["change"] != "changed":
            nodes.append(entry)

    pods_a, pods_b = _by(a["pods"], "namespace", "name"), _by(b["pods"], "namespace", "name")
    appeared = [pods_b[k] for k in sorted(pods_b.keys() - pods_a.keys())]
    gone = [pods_a[k] for k in sorted(pods_a.keys() - pods_b.keys())]
    gone_slots = {(p["daemonSet"], p["node"]): p for p in gone}
    pods: list[dict[str, Any]] = []
    replaced_old: set[tuple[str, str]] = set()
    for p in appeared:
        old = gone_slots.get((p["daemonSet"], p["node"])) if p["daemonSet"] else None
        if old is not None:
            replaced_old.add((old["namespace"], old["name"]))
            pods.append({"change": "replaced", "node": p["node"], "daemonSet": p["daemonSet"],
                         "from": f"{old['name']} (rev {old['revision']})",
                         "to": f"{p['name']} (rev {p['revision']})"})
        else:
            pods.append({"change": "appeared", "node": p["node"], "daemonSet": p["daemonSet"],
                         "pod": p["name"], "revision": p["revision"]})
    for p in gone:
        if (p["namespace"], p["name"]) not in replaced_old:
            pods.append({"change": "gone", "node": p["node"], "daemonSet": p["daemonSet"],
                         "pod": p["name"], "revision": p["revision"]})
    for key in sorted(pods_a.keys() & pods_b.keys()):
        old, new = pods_a[key], pods_b[key]
        if old["node"] != new["node"]:
            pods.append({"change": "moved", "pod": key[1], "from": old["node"], "to": new["node"]})
        elif (old["phase"], old["ready"]) != (new["phase"], new["ready"]):
            pods.append({"change": "status", "pod": key[1], "node": new["node"],
                         "from": f"{old['phase']}/{'ready' if old['ready'] else 'not ready'}",
                         "to": f"{new['phase']}/{'ready' if new['ready'] else 'not ready'}"})
    return {
        "from": {"seq": a["seq"], "time": a["time"]},
        "to": {"seq": b["seq"], "time": b["time"]},
        "daemonSets": daemon_sets,
        "nodes": nodes,
        "pods": pods,
        "events": [event_row(e) for e in events],
    }


def render_diff(d: dict[str, Any]) -> str:
    out = [f"Changes from seq {d['from']['seq']} ({format_time(d['from']['time'])}) "
           f"to seq {d['to']['seq']} ({format_time(d['to']['time'])})", ""]
    out.append("DAEMONSETS" + ("" if d["daemonSets"] else ": no changes"))
    for ds in d["daemonSets"]:
        out.append(f"  ds/{ds['name']} {ds['change']}")
        for field in ("generation", "revision", "templateHash", "paused", "deleted"):
            if field in ds:
                out.append(f"    {field}: {ds[field][0]} -> {ds[field][1]}")
        for counter, (va, vb) in ds.get("status", {}).items():
            out.append(f"    status.{counter}: {va} -> {vb}")
        out.extend(f"    {line}" for line in ds.get("templateDiff", []))
    out.append("")
    out.append("NODES" + ("" if d["nodes"] else ": no changes"))
    for node in d["nodes"]:
        details = []
        if "labels" in node:
            details.append("labels " + " ".join(node["labels"]))
        if "taints" in node:
            details.append("taints " + " ".join(node["taints"]))
        for field in ("ready", "lost", "unschedulable"):
            if field in node:
                details.append(f"{field} {node[field][0]} -> {node[field][1]}")
        out.append(f"  node/{node['name']} {node['change']}"
                   + (": " + "; ".join(details) if details else ""))
    out.append("")
    out.append("PODS" + ("" if d["pods"] else ": no changes"))
    for pod in d["pods"]:
        change = pod["change"]
        if change == "replaced":
            out.append(f"  replaced on {pod['node']} ({pod['daemonSet']}): "
                       f"{pod['from']} -> {pod['to']}")
        elif change in ("appeared", "gone"):
            out.append(f"  {change} on {pod['node']}: {pod['pod']} "
                       f"({pod['daemonSet'] or 'static'}, rev {pod['revision']})")
        elif change == "moved":
            out.append(f"  moved {pod['pod']}: {pod['from']} -> {pod['to']}")
        else:
            out.append(f"  {pod['pod']} on {pod['node']}: {pod['from']} -> {pod['to']}")
    out.append("")
    out.append(f"EVENTS ({len(d['events'])})")
    for e in d["events"]:
        cause = f" <-{e['causeSeq']}" if e["causeSeq"] else ""
        out.append(f"  {e['seq']:>6}  {format_time(e['time'])}  {e['actor']:<16} "
                   f"{e['type']:<20} {e['stream']}{cause}  {e['summary']}")
    return "\n".join(out) + "\n"


def _event_matches(event: events_pb2.Event, filt: Filter) -> bool:
    if filt.daemon_set is None and filt.node is None:
        return True
    stream = event.stream
    if filt.daemon_set is not None:
        ns, name = filt.daemon_set
        if stream.startswith("daemonset/") and stream.endswith(f"/{name}") and (
            ns is None or stream == daemon_set_stream(ns, name)
        ):
            return True
    if filt.node is not None:
        if stream == node_stream(filt.node):
            return True
        kind = event.WhichOneof("kind")
        body = getattr(event, kind) if kind else None
        if body is not None and getattr(body, "node_name", None) == filt.node:
            return True
    return False


async def diff_range(source: LogSource, rng: Range, filt: Filter | None = None) -> dict[str, Any]:
    """Fold to A, view; fold on to B collecting the events between; view; compare."""
    filt = filt or Filter()
    start, end = At.parse(rng.start), At.parse(rng.end)
    state = ClusterState()
    between: list[events_pb2.Event] = []
    view_a: dict[str, Any] | None = None
    # The quiet fold (no Touched), in runs: up to A, then on to B.
    async for batch in batches_until(source, end):
        if view_a is None:
            cut = next((i for i, e in enumerate(batch) if not start.includes(e)), None)
            if cut is None:
                fold(batch, state)
                continue
            fold(batch[:cut], state)
            view_a = cluster_view(state, view_time(state, start), filt)
            batch = batch[cut:]
        fold(batch, state)
        between.extend(e for e in batch if _event_matches(e, filt))
    if view_a is None:
        view_a = cluster_view(state, view_time(state, start), filt)
    view_b = cluster_view(state, view_time(state, end), filt)
    return diff_views(view_a, view_b, between)
