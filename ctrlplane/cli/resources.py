"""dsctl apply, get and delete: daemon sets, pods and nodes, as kubectl shows them.

Each command is a few requests and a print; tables and object shapes come
from ctrlplane.cli.output, manifests from ctrlplane.cli.manifests.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import grpc
from google.protobuf.message import Message

from ctrlplane._proto.v1 import api_pb2, objects_pb2
from ctrlplane.cli import output
from ctrlplane.cli.args import (
    DAEMON_SETS,
    NODES,
    PODS,
    QUALIFIED,
    Target,
    UsageError,
    parse_duration,
    parse_targets,
)
from ctrlplane.cli.client import (
    Client,
    CliError,
    Subparsers,
    bind,
    common_parents,
    rpc_error_message,
)
from ctrlplane.cli.nodes import get_node, list_nodes
from ctrlplane.domain.streams import namespace_or_default

OUTPUTS = ("wide", "yaml", "json", "name")


# ---- apply -------------------------------------------------------------------


def change_cause(args: argparse.Namespace, argv: Sequence[str]) -> str:
    if args.change_cause:
        return str(args.change_cause)
    if args.record:
        return " ".join(["dsctl", *_without_server(argv)])
    return ""


def _without_server(argv: Sequence[str]) -> list[str]:
    """The command line minus --server ADDR: where it was sent is not part of the change."""
    out: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--server", "-s"):
            skip = True
        elif not word.startswith("--server="):
            out.append(word)
    return out


def cmd_apply(client: Client, args: argparse.Namespace) -> int:
    # Imported here: the domain's validators are only needed to apply or plan.
    from ctrlplane.cli.manifests import ManifestError, load

    try:
        manifests = load(args.filename, args.namespace)
    except (ManifestError, OSError) as exc:
        raise CliError(str(exc)) from exc
    cause = change_cause(args, args.argv)
    failed = False
    for manifest in manifests:
        ds = manifest.daemon_set
        request = api_pb2.ApplyRequest(
            daemon_set=ds, expected_generation=args.expected_generation, change_cause=cause
        )
        try:
            reply = client.daemon_sets.Apply(
                request, metadata=client.metadata, timeout=client.timeout
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code == grpc.StatusCode.UNAVAILABLE or len(manifests) == 1:
                raise
            # kubectl goes on with the other documents and fails at the end.
            print(f"error: {manifest.source}: {rpc_error_message(exc, client.server)}",
                  file=sys.stderr)
            failed = True
            continue
        word = "created" if reply.created else "configured" if reply.changed else "unchanged"
        print(f"daemonset.apps/{reply.daemon_set.metadata.name or ds.metadata.name} {word}")
    return 1 if failed else 0


# ---- get ---------------------------------------------------------------------


def _namespace(args: argparse.Namespace) -> str:
    return "" if args.all_namespaces else namespace_or_default(args.namespace)


def fetch(client: Client, target: Target, args: argparse.Namespace) -> list[Message]:
    """The objects of one target, sorted as kubectl sorts them (namespace, name)."""
    ns = _namespace(args)
    if target.kind == DAEMON_SETS:
        if target.names:
            return [
                client.daemon_sets.Get(
                    api_pb2.ObjectRef(namespace=namespace_or_default(ns), name=name),
                    metadata=client.metadata, timeout=client.timeout,
                )
                for name in target.names
            ]
        ds_reply = client.daemon_sets.List(
            api_pb2.ListDaemonSetsRequest(namespace=ns, label_selector=args.selector),
            metadata=client.metadata, timeout=client.timeout,
        )
        return sorted(ds_reply.items, key=lambda d: (d.metadata.namespace, d.metadata.name))
    if target.kind == PODS:
        node_name = _field_selector_node(args.field_selector)
        pod_reply = client.pods.List(
            api_pb2.ListPodsRequest(
                namespace=ns, node_name=node_name, label_selector=args.selector
            ),
            metadata=client.metadata, timeout=client.timeout,
        )
        pods = sorted(pod_reply.items, key=lambda p: (p.metadata.namespace, p.metadata.name))
        if not target.names:
            return list(pods)
        by_name = {p.metadata.name: p for p in pods}
        missing = [n for n in target.names if n not in by_name]
        if missing:
            raise CliError(f'pods "{missing[0]}" not found')
        return [by_name[n] for n in target.names]
    if target.names:
        return [get_node(client, name) for name in target.names]
    return list(list_nodes(client, args.selector))


def _field_selector_node(selector: str) -> str:
    if not selector:
        return ""
    key, sep, value = selector.partition("=")
    if key.strip() != "spec.nodeName" or not sep or "," in value:
        raise UsageError("only --field-selector spec.nodeName=NODE is supported")
    return value.strip().lstrip("=")


def rows_for(kind: str, items: Sequence[Message], args: argparse.Namespace,
             *, prefix: str) -> list[list[str]]:
    now = time.time()
    wide = args.output == "wide"
    if kind == DAEMON_SETS:
        return output.daemon_set_rows(
            [i for i in items if isinstance(i, objects_pb2.DaemonSet)], now, wide=wide,
            all_namespaces=args.all_namespaces, prefix=prefix, show_labels=args.show_labels,
        )
    if kind == PODS:
        return output.pod_rows(
            [i for i in items if isinstance(i, objects_pb2.Pod)], now, wide=wide,
            all_namespaces=args.all_namespaces, prefix=prefix, show_labels=args.show_labels,
        )
    return output.node_rows(
        [i for i in items if isinstance(i, objects_pb2.Node)], now, wide=wide,
        prefix=prefix, show_labels=args.show_labels,
    )


def cmd_get(client: Client, args: argparse.Namespace) -> int:
    targets = parse_targets(args.words)
    kinds = {t.kind for t in targets}
    many = len(kinds) > 1
    if args.watch:
        return _watch(client, targets, args)
    fetched = [(t, fetch(client, t, args)) for t in targets]
    if args.output in ("json", "yaml"):
        items = [item for _, found in fetched for item in found]
        single = len(targets) == 1 and len(targets[0].names) == 1
        sys.stdout.write(output.render_objects(items, args.output, single=single))
        return 0
    if args.output == "name":
        for target, found in fetched:
            for item in found:
                print(f"{QUALIFIED[target.kind]}/{_name_of(item)}")
        return 0
    # Tables: one per kind, joined like kubectl (a blank line between them;
    # names prefixed with the kind when several kinds are shown).
    by_kind: dict[str, list[Message]] = {}
    for target, found in fetched:
        by_kind.setdefault(target.kind, []).extend(found)
    blocks = []
    for kind, items in by_kind.items():
        if not items:
            continue
        prefix = f"{QUALIFIED[kind]}/" if many else ""
        blocks.append(output.table(rows_for(kind, items, args, prefix=prefix)))
    if not blocks:
        namespaced = not args.all_namespaces and kinds != {NODES}
        where = f" in {_namespace(args)} namespace" if namespaced else ""
        print(f"No resources found{where}.", file=sys.stderr)
        return 0
    sys.stdout.write("\n".join(blocks))
    return 0


def _watch(client: Client, targets: list[Target], args: argparse.Namespace) -> int:
    from ctrlplane.cli.watch import Rows, watch

    if len(targets) != 1:
        raise UsageError("you may only specify a single resource type to watch")
    if args.output not in ("", "wide"):
        raise UsageError("--watch prints tables only (-o wide or none)")
    target = targets[0]

    def read() -> Rows:
        items = fetch(client, target, args)
        rows = rows_for(target.kind, items, args, prefix="")
        return [((_namespace_of(i), _name_of(i)), row) for i, row in zip(items, rows[1:],
                                                                           strict=True)]

    header = rows_for(target.kind, [], args, prefix="")[0]
    timeout = parse_duration(args.request_timeout) if args.request_timeout else 0.0
    return watch(client, header, read, read(), timeout=timeout)


def _namespace_of(item: Message) -> str:
    metadata = getattr(item, "metadata", None)
    return str(getattr(metadata, "namespace", ""))


def _name_of(item: Message) -> str:
    metadata = getattr(item, "metadata", None)
    return str(getattr(metadata, "name", ""))


# ---- delete ------------------------------------------------------------------


def cmd_delete(client: Client, args: argparse.Namespace) -> int:
    targets = parse_targets(args.words)
    ns = namespace_or_default(args.namespace)
    for target in targets:
        if not target.names:
            raise UsageError(f"give the {target.kind} to delete by name (no --all here)")
        for name in target.names:
            ref = api_pb2.ObjectRef(namespace=ns, name=name)
            if target.kind == DAEMON_SETS:
                client.daemon_sets.Delete(ref, metadata=client.metadata, timeout=client.timeout)
                print(f'daemonset.apps "{name}" deleted')
            elif target.kind == PODS:
                client.pods.Delete(ref, metadata=client.metadata, timeout=client.timeout)
                print(f'pod "{name}" deleted')
            else:
                raise UsageError("nodes leave when their agent stops; they cannot be deleted here")
    return 0


# ---- parsers -----------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    parents = common_parents()
    apply = subparsers.add_parser(
        "apply", parents=parents, help="create or update daemon sets from manifests",
        description="dsctl apply -f FILE|DIR|- (several YAML documents each)",
    )
    apply.add_argument("-f", "--filename", action="append", required=True, metavar="FILE",
                       help="a manifest file, a directory of them, or - for stdin")
    apply.add_argument("-n", "--namespace", default="")
    apply.add_argument("--expected-generation", type=int, default=0, metavar="N",
                       help="fail (ABORTED) unless the daemon set is at generation N "
                       "(from `dsctl plan`); -1: it must not exist yet")
    apply.add_argument("--record", action="store_true",
                       help="record this command line as the change-cause")
    apply.add_argument("--change-cause", default="", metavar="TEXT",
                       help="the change-cause shown by rollout history")
    apply.set_defaults(func=bind(cmd_apply))

    get = subparsers.add_parser(
        "get", parents=parents, help="list daemon sets, pods or nodes",
        description="dsctl get ds|pods|nodes[,...] [NAME...] | TYPE/NAME...",
    )
    get.add_argument("words", nargs="+", metavar="TYPE[,TYPE] [NAME...]")
    get.add_argument("-n", "--namespace", default="")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-l", "--selector", default="", help="label selector, e.g. app=x,tier!=y")
    get.add_argument("--field-selector", default="", help="spec.nodeName=NODE (pods)")
    get.add_argument("-o", "--output", choices=OUTPUTS, default="")
    get.add_argument("--show-labels", action="store_true")
    get.add_argument("-w", "--watch", action="store_true",
                     help="after the table, print a row whenever an object changes")
    get.add_argument("--request-timeout", default="", metavar="DURATION",
                     help="with --watch: stop watching after this long (e.g. 30s)")
    get.set_defaults(func=bind(cmd_get))

    delete = subparsers.add_parser(
        "delete", parents=parents, help="delete a daemon set or a pod",
        description="dsctl delete ds NAME | pod NAME | TYPE/NAME",
    )
    delete.add_argument("words", nargs="+", metavar="TYPE NAME")
    delete.add_argument("-n", "--namespace", default="")
    delete.set_defaults(func=bind(cmd_delete))
