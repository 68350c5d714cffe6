"""What dsctl prints: kubectl-shaped tables, ages, and -o json|yaml objects.

Pure functions from protobuf objects (and `now`, for ages) to text. No gRPC,
no argument parsing, no printing: callers write the returned strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.streams import namespace_or_default

# kubectl's printers.GetNewTabWriter: minwidth 6, padding 3, spaces.
_MIN_WIDTH = 6
_PADDING = 3

STATIC_MARKER = " (static)"
# Annotations that mark a pod as the mirror of a static pod: the kubelet's own,
# and ours (the agent/core may set either; both are honoured).
MIRROR_ANNOTATIONS = ("kubernetes.io/config.mirror", "ctrlplane.io/static", "ctrlplane.io/mirror")
DAEMON_SET_ANNOTATION = "ctrlplane.io/daemon-set"

# The kind/apiVersion an object gets in -o json|yaml when the server left them empty.
_DEFAULT_KIND = {
    "DaemonSet": ("apps/v1", "DaemonSet"),
    "Pod": ("v1", "Pod"),
    "Node": ("v1", "Node"),
}


# ---- tables ------------------------------------------------------------------


def table(
    rows: Sequence[Sequence[str]], *, padding: int = _PADDING, min_width: int = _MIN_WIDTH
) -> str:
    """Rows (the first is the header) aligned as kubectl's tabwriter does it."""
    if not rows:
        return ""
    widths = column_widths(rows, padding=padding, min_width=min_width)
    return "".join(table_row(row, widths, padding=padding) for row in rows)


def column_widths(
    rows: Sequence[Sequence[str]], *, padding: int = _PADDING, min_width: int = _MIN_WIDTH
) -> list[int]:
    ncols = max((len(r) for r in rows), default=0)
    widths = [0] * ncols
    for row in rows:
        # The last cell of a row is not padded, so it does not widen its column.
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell) + padding, min_width)
    return widths


def table_row(row: Sequence[str], widths: Sequence[int], *, padding: int = _PADDING) -> str:
    """One line of a table whose columns are `widths` wide (a watch's later rows)."""
    # A later row may be wider than the table it follows: it keeps its padding.
    cells = [
        cell.ljust(max(widths[i] if i < len(widths) else 0, len(cell) + padding))
        for i, cell in enumerate(row[:-1])
    ]
    return "".join(cells) + (row[-1] if row else "") + "\n"


# ---- ages and times ----------------------------------------------------------


def human_duration(seconds: float) -> str:
    """kubectl's duration.HumanDuration: 5s, 3m20s, 2h, 4d5h, 3y."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = divmod(hours // 24, 365)
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_timestamp(text: str) -> float | None:
    """RFC 3339 to unix seconds; None when empty or unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def age(timestamp: str, now: float) -> str:
    then = parse_timestamp(timestamp)
    if then is None:
        return "<unknown>"
    return human_duration(now - then)


def format_time(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


# ---- labels and selectors ----------------------------------------------------


def format_labels(labels: Mapping[str, str]) -> str:
    """labels.FormatLabels: sorted k=v joined by commas, or <none>."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def format_selector(selector: objects_pb2.LabelSelector) -> str:
    """metav1.FormatLabelSelector: a=b,c in (d,e),!f, or <none>."""
    parts = [f"{k}={selector.match_labels[k]}" for k in sorted(selector.match_labels)]
    for req in selector.match_expressions:
        values = ",".join(sorted(req.values))
        if req.operator == "In":
            parts.append(f"{req.key} in ({values})")
        elif req.operator == "NotIn":
            parts.append(f"{req.key} notin ({values})")
        elif req.operator == "Exists":
            parts.append(req.key)
        elif req.operator == "DoesNotExist":
            parts.append(f"!{req.key}")
        else:
            parts.append(f"{req.key} {req.operator} ({values})")
    return ",".join(parts) if parts else "<none>"


def format_taint(taint: objects_pb2.Taint) -> str:
    value = f"={taint.value}" if taint.value else ""
    return f"{taint.key}{value}:{taint.effect}"


# ---- listings ----------------------------------------------------------------


_T = TypeVar("_T", objects_pb2.DaemonSet, objects_pb2.Pod, objects_pb2.Node)
_Columns = tuple[list[str], Callable[[_T], list[str]]]


def _listing(
    items: Iterable[_T],
    columns: _Columns[_T],
    wide_columns: _Columns[_T] | None,
    *,
    show_labels: bool,
    all_namespaces: bool,
) -> list[list[str]]:
    """Header + rows in kubectl's column order: [NAMESPACE] columns [wide columns] [LABELS]."""
    extra = wide_columns or ([], lambda _item: [])
    header = ["NAMESPACE"] * all_namespaces + columns[0] + extra[0] + ["LABELS"] * show_labels
    rows = [header]
    for item in items:
        meta = item.metadata
        row = [namespace_or_default(meta.namespace)] if all_namespaces else []
        row += columns[1](item) + extra[1](item)
        if show_labels:
            row.append(format_labels(meta.labels))
        rows.append(row)
    return rows


# ---- daemon sets -------------------------------------------------------------


def daemon_set_rows(
    items: Iterable[objects_pb2.DaemonSet],
    now: float,
    *,
    wide: bool = False,
    all_namespaces: bool = False,
    prefix: str = "",
    show_labels: bool = False,
) -> list[list[str]]:
    def cells(ds: objects_pb2.DaemonSet) -> list[str]:
        st = ds.status
        return [
            prefix + ds.metadata.name,
            str(st.desired_number_scheduled),
            str(st.current_number_scheduled),
            str(st.number_ready),
            str(st.updated_number_scheduled),
            str(st.number_available),
            format_labels(ds.spec.template.spec.node_selector),
            age(ds.metadata.creation_timestamp, now),
        ]

    def wide_cells(ds: objects_pb2.DaemonSet) -> list[str]:
        containers = ds.spec.template.spec.containers
        return [
            ",".join(c.name for c in containers) or "<none>",
            ",".join(c.image for c in containers) or "<none>",
            format_selector(ds.spec.selector),
        ]

    return _listing(
        items,
        (["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR",
          "AGE"], cells),
        (["CONTAINERS", "IMAGES", "SELECTOR"], wide_cells) if wide else None,
        show_labels=show_labels,
        all_namespaces=all_namespaces,
    )


# ---- pods --------------------------------------------------------------------


def is_static(pod: objects_pb2.Pod) -> bool:
    annotations = pod.metadata.annotations
    return any(key in annotations for key in MIRROR_ANNOTATIONS)


def pod_ready(pod: objects_pb2.Pod) -> str:
    total = len(pod.spec.containers) or len(pod.status.container_statuses) or 1
    if pod.status.container_statuses:
        ready = sum(1 for c in pod.status.container_statuses if c.ready)
    else:
        ready = total if condition_true(pod.status.conditions, "Ready") else 0
    return f"{ready}/{total}"


def pod_status(pod: objects_pb2.Pod) -> str:
    return pod.status.reason or pod.status.phase or "Unknown"


def pod_restarts(pod: objects_pb2.Pod) -> int:
    return sum(c.restart_count for c in pod.status.container_statuses)


def pod_rows(
    items: Iterable[objects_pb2.Pod],
    now: float,
    *,
    wide: bool = False,
    all_namespaces: bool = False,
    prefix: str = "",
    show_labels: bool = False,
) -> list[list[str]]:
    def cells(pod: objects_pb2.Pod) -> list[str]:
        created = pod.metadata.creation_timestamp or pod.status.start_time
        # A marker after the name (not in it): `awk '{print $1}'` still gets the name.
        name = prefix + pod.metadata.name + (STATIC_MARKER if is_static(pod) else "")
        return [name, pod_ready(pod), pod_status(pod), str(pod_restarts(pod)), age(created, now)]

    return _listing(
        items,
        (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], cells),
        (["NODE"], lambda pod: [pod.spec.node_name or "<none>"]) if wide else None,
        show_labels=show_labels,
        all_namespaces=all_namespaces,
    )


# ---- nodes -------------------------------------------------------------------


def condition_true(conditions: Iterable[Any], kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in conditions)


def node_status(node: objects_pb2.Node) -> str:
    status = "Ready" if condition_true(node.status.conditions, "Ready") else "NotReady"
    if node.spec.unschedulable:
        status += ",SchedulingDisabled"
    return status


def node_roles(node: objects_pb2.Node) -> str:
    """kubectl's findNodeRoles: node-role.kubernetes.io/<role> and kubernetes.io/role."""
    roles = set()
    for key, value in node.metadata.labels.items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def node_version(node: objects_pb2.Node) -> str:
    annotations = node.metadata.annotations
    return annotations.get("ctrlplane.io/agent-version") or "<none>"


def node_rows(
    items: Iterable[objects_pb2.Node],
    now: float,
    *,
    wide: bool = False,
    prefix: str = "",
    show_labels: bool = False,
) -> list[list[str]]:
    def cells(node: objects_pb2.Node) -> list[str]:
        return [
            prefix + node.metadata.name,
            node_status(node),
            node_roles(node),
            age(node.metadata.creation_timestamp, now),
            node_version(node),
        ]

    def taints(node: objects_pb2.Node) -> list[str]:
        return [",".join(format_taint(t) for t in node.spec.taints) or "<none>"]

    # Nodes are cluster-scoped, and -o wide shows their labels (kubectl does).
    return _listing(
        items,
        (["NAME", "STATUS", "ROLES", "AGE", "VERSION"], cells),
        (["TAINTS"], taints) if wide else None,
        show_labels=wide or show_labels,
        all_namespaces=False,
    )


# ---- -o json|yaml ------------------------------------------------------------


_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def _int64_as_numbers(descriptor: Any, data: dict[str, Any]) -> None:
    """Protobuf's JSON mapping writes int64 as strings; Kubernetes objects have numbers."""
    for field in descriptor.fields:
        value = data.get(field.json_name)
        if value is None:
            continue
        if field.message_type is not None and not field.message_type.GetOptions().map_entry:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    _int64_as_numbers(field.message_type, item)
        elif field.type in _INT64_TYPES:
            if isinstance(value, list):
                data[field.json_name] = [int(v) for v in value]
            else:
                data[field.json_name] = int(value)


def to_dict(message: Message) -> dict[str, Any]:
    """A Kubernetes-shaped dict (camelCase); kind/apiVersion filled in when empty."""
    data: dict[str, Any] = json_format.MessageToDict(message)
    _int64_as_numbers(message.DESCRIPTOR, data)
    defaults = _DEFAULT_KIND.get(type(message).__name__)
    if defaults is not None:
        data = {
            "apiVersion": data.pop("apiVersion", "") or defaults[0],
            "kind": data.pop("kind", "") or defaults[1],
            **data,
        }
    return data


def list_dict(items: Iterable[Message]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "items": [to_dict(item) for item in items],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def render(data: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=4) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)
    raise ValueError(f"unknown output format {fmt!r}")


def render_objects(items: Sequence[Message], fmt: str, *, single: bool) -> str:
    """One object when the user named one, else a List."""
    if single and len(items) == 1:
        return render(to_dict(items[0]), fmt)
    return render(list_dict(items), fmt)
