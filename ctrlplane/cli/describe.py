"""dsctl describe ds|node|pod NAME: one object in words, with its recent events from the log.

The kubectl describe layout (aligned `Key: value` lines, nested sections, an
Events table at the end). The events are the log's own facts and decisions
about the object, newest last. Rendering is pure; `cmd_describe` fetches.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Mapping, Sequence

from ctrlplane._proto.v1 import api_pb2, events_pb2, objects_pb2
from ctrlplane.cli import output
from ctrlplane.cli.args import DAEMON_SETS, NODES, PODS, parse_targets
from ctrlplane.cli.client import Client, CliError, Subparsers, bind, common_parents
from ctrlplane.cli.events_cmd import summary
from ctrlplane.cli.nodes import get_node
from ctrlplane.domain.streams import (
    daemon_set_stream,
    event_type,
    namespace_or_default,
    node_stream,
)

EVENTS_SHOWN = 15


def fields(pairs: Sequence[tuple[str, str]], indent: int = 0) -> list[str]:
    """`Key:   value` lines with the values aligned, as kubectl describe prints them."""
    width = max((len(k) for k, _ in pairs), default=0) + 2
    pad = " " * indent
    return [f"{pad}{(k + ':').ljust(width)}{v}".rstrip() for k, v in pairs]


def _map(values: Mapping[str, str]) -> str:
    return output.format_labels(values)


def template_lines(template: objects_pb2.PodTemplateSpec) -> list[str]:
    spec = template.spec
    lines = ["Pod Template:"]
    lines += fields([("Labels", _map(template.metadata.labels))], 2)
    lines.append("  Containers:")
    for c in spec.containers:
        lines.append(f"   {c.name}:")
        pairs = [("Image", c.image or "<none>")]
        if c.command:
            pairs.append(("Command", " ".join(c.command)))
        if c.args:
            args = " ".join(a.replace("\n", "\\n") for a in c.args)
            pairs.append(("Args", args if len(args) <= 80 else args[:77] + "..."))
        pairs.append(("Environment", ", ".join(f"{e.name}={e.value}" for e in c.env) or "<none>"))
        pairs.append(("Mounts", ", ".join(f"{m.mount_path} from {m.name}"
                                          for m in c.volume_mounts) or "<none>"))
        lines += fields(pairs, 4)
    lines.append("  Volumes:")
    for v in spec.volumes:
        kind = f"HostPath {v.host_path.path}" if v.HasField("host_path") else "EmptyDir"
        lines.append(f"   {v.name}: {kind}")
    if not spec.volumes:
        lines.append("   <none>")
    return lines


def describe_daemon_set(ds: objects_pb2.DaemonSet) -> list[str]:
    st, spec = ds.status, ds.spec
    strategy = spec.update_strategy.type or "RollingUpdate"
    if strategy == "RollingUpdate":
        ru = spec.update_strategy.rolling_update
        strategy += f" (maxUnavailable {ru.max_unavailable or '1'}, maxSurge {ru.max_surge or '0'})"
    lines = fields([
        ("Name", ds.metadata.name),
        ("Namespace", namespace_or_default(ds.metadata.namespace)),
        ("Selector", output.format_selector(spec.selector)),
        ("Node-Selector", _map(spec.template.spec.node_selector)),
        ("Labels", _map(ds.metadata.labels)),
        ("Annotations", _map(ds.metadata.annotations)),
        ("Generation", f"{ds.metadata.generation} (observed {st.observed_generation})"),
        ("Revision", f"{st.current_revision} ({st.current_revision_hash or '-'})"
                     + (", paused" if st.paused else "")),
        ("Update Strategy", strategy),
        ("Desired Number of Nodes Scheduled", str(st.desired_number_scheduled)),
        ("Current Number of Nodes Scheduled", str(st.current_number_scheduled)),
        ("Number of Nodes Scheduled with Up-to-date Pods", str(st.updated_number_scheduled)),
        ("Number of Nodes Scheduled with Available Pods", str(st.number_available)),
        ("Number of Nodes Misscheduled", str(st.number_misscheduled)),
        ("Pods Status", f"{st.number_ready} Ready / "
                        f"{st.current_number_scheduled - st.number_ready} Not ready"),
    ])
    lines += template_lines(spec.template)
    lines += conditions_lines(st.conditions)
    return lines


def conditions_lines(conditions: Iterable[objects_pb2.DaemonSetCondition]
                     | Iterable[objects_pb2.NodeCondition]) -> list[str]:
    rows = [["Type", "Status", "Reason", "Message"]]
    rows += [[c.type, c.status, c.reason or "-", c.message or "-"] for c in conditions]
    if len(rows) == 1:
        return ["Conditions:  <none>"]
    return ["Conditions:"] + ["  " + line for line in output.table(rows).splitlines()]


def describe_node(node: objects_pb2.Node, pods: Sequence[objects_pb2.Pod]) -> list[str]:
    lines = fields([
        ("Name", node.metadata.name),
        ("Roles", output.node_roles(node)),
        ("Labels", _map(node.metadata.labels)),
        ("Annotations", _map(node.metadata.annotations)),
        ("CreationTimestamp", node.metadata.creation_timestamp or "<unknown>"),
        ("Taints", ", ".join(output.format_taint(t) for t in node.spec.taints) or "<none>"),
        ("Unschedulable", "true" if node.spec.unschedulable else "false"),
        ("Status", output.node_status(node)),
    ])
    lines += conditions_lines(node.status.conditions)
    lines.append(f"Pods:  ({len(pods)} in total)")
    if pods:
        rows = [["Namespace", "Name", "Ready", "Status", "Restarts"]]
        rows += [[namespace_or_default(p.metadata.namespace), p.metadata.name
                  + (output.STATIC_MARKER if output.is_static(p) else ""),
                  output.pod_ready(p), output.pod_status(p), str(output.pod_restarts(p))]
                 for p in pods]
        lines += ["  " + line for line in output.table(rows).splitlines()]
    return lines


def describe_pod(pod: objects_pb2.Pod) -> list[str]:
    annotations = pod.metadata.annotations
    owner = annotations.get(output.DAEMON_SET_ANNOTATION)
    lines = fields([
        ("Name", pod.metadata.name + (output.STATIC_MARKER if output.is_static(pod) else "")),
        ("Namespace", namespace_or_default(pod.metadata.namespace)),
        ("Node", pod.spec.node_name or "<none>"),
        ("Labels", _map(pod.metadata.labels)),
        ("Annotations", _map(annotations)),
        ("Controlled By", f"DaemonSet/{owner}" if owner else "<none> (a static pod)"
         if output.is_static(pod) else "<none>"),
        ("Status", output.pod_status(pod)),
        ("Ready", output.pod_ready(pod)),
        ("Restarts", str(output.pod_restarts(pod))),
        ("Message", pod.status.message or "<none>"),
    ])
    # The template's heading and labels are the pod's own, already shown above.
    lines += template_lines(objects_pb2.PodTemplateSpec(metadata=pod.metadata, spec=pod.spec))[2:]
    return lines


def events_lines(events: Sequence[events_pb2.Event], now: float) -> list[str]:
    if not events:
        return ["Events:  <none>"]
    rows = [["Seq", "Age", "Actor", "Type", "Details"]]
    for event in events[-EVENTS_SHOWN:]:
        rows.append([str(event.seq), output.human_duration(now - event.time), event.actor,
                     event_type(event), summary(event)])
    more = len(events) - EVENTS_SHOWN
    head = f"Events:  (the last {EVENTS_SHOWN} of {len(events)})" if more > 0 else "Events:"
    return [head] + ["  " + line for line in output.table(rows).splitlines()]


def about(event: events_pb2.Event, stream: str, pod: tuple[str, str] | None) -> bool:
    """The event is in `stream`, or (for a pod) names the pod."""
    if pod is None:
        return event.stream == stream
    kind = event.WhichOneof("kind")
    body = getattr(event, kind) if kind else None
    if body is None or getattr(body, "pod_name", None) != pod[1]:
        return False
    return namespace_or_default(getattr(body, "namespace", "")) == pod[0]


# ---- command -----------------------------------------------------------------


def cmd_describe(client: Client, args: argparse.Namespace) -> int:
    targets = parse_targets(args.words)
    if len(targets) != 1 or len(targets[0].names) != 1:
        raise CliError("describe one object: ds NAME, node NAME or pod NAME")
    kind, name = targets[0].kind, targets[0].names[0]
    ns = namespace_or_default(args.namespace)
    if kind == DAEMON_SETS:
        ds = client.daemon_sets.Get(api_pb2.ObjectRef(namespace=ns, name=name),
                                    metadata=client.metadata, timeout=client.timeout)
        lines = describe_daemon_set(ds)
        stream, pod = daemon_set_stream(ns, name), None
    elif kind == NODES:
        node = get_node(client, name)
        pods = client.pods.List(api_pb2.ListPodsRequest(node_name=name),
                                metadata=client.metadata, timeout=client.timeout).items
        lines = describe_node(node, pods)
        stream, pod = node_stream(name), None
    else:
        assert kind == PODS
        listed = client.pods.List(api_pb2.ListPodsRequest(namespace=ns),
                                  metadata=client.metadata, timeout=client.timeout).items
        found = [p for p in listed if p.metadata.name == name]
        if not found:
            raise CliError(f'pods "{name}" not found')
        lines = describe_pod(found[0])
        stream, pod = "", (ns, name)
    # The whole log is read and filtered here: fine for a CLI, and it needs no
    # per-object index on the plane.
    events = [e for e in client.events.Read(api_pb2.ReadEventsRequest(),
                                            metadata=client.metadata) if about(e, stream, pod)]
    lines += events_lines(events, time.time())
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def register(subparsers: Subparsers) -> None:
    describe = subparsers.add_parser(
        "describe", parents=common_parents(), help="show one object and its recent events",
        description="dsctl describe ds NAME | node NAME | pod NAME (or TYPE/NAME)",
    )
    describe.add_argument("words", nargs="+", metavar="TYPE NAME")
    describe.add_argument("-n", "--namespace", default="")
    describe.set_defaults(func=bind(cmd_describe))
