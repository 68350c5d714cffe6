"""dsctl's node commands: label, taint, cordon and uncordon (and node lookups for get).

The parsing of `k=v k2-` and `k=v:NoSchedule k:NoExecute- k-` is pure and
kubectl's; the commands send one request each and print kubectl's one-line
result. Validation of keys and values is the plane's.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from ctrlplane._proto.v1 import api_pb2, objects_pb2
from ctrlplane.cli.args import NODES, UsageError, resource
from ctrlplane.cli.client import Client, Subparsers, bind, common_parents

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(slots=True)
class LabelChange:
    set: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)


def parse_label_args(specs: Sequence[str]) -> LabelChange:
    """`k=v` sets, `k-` removes (kubectl label)."""
    change = LabelChange()
    for spec in specs:
        if "=" in spec:
            key, _, value = spec.partition("=")
            if not key:
                raise UsageError(f'invalid label spec: "{spec}"')
            change.set[key] = value
        elif spec.endswith("-") and len(spec) > 1:
            change.remove.append(spec[:-1])
        else:
            raise UsageError(f'invalid label spec: "{spec}" (use key=value or key-)')
    both = sorted(set(change.set) & set(change.remove))
    if both:
        raise UsageError(f"can not both modify and remove a label in the same command: {both}")
    if not change.set and not change.remove:
        raise UsageError("at least one label update is required")
    return change


@dataclass(slots=True)
class TaintChange:
    add: list[objects_pb2.Taint] = field(default_factory=list)
    remove: list[objects_pb2.Taint] = field(default_factory=list)


def _effect(effect: str, spec: str) -> str:
    if effect not in TAINT_EFFECTS:
        raise UsageError(
            f'invalid taint effect: {effect}, unsupported taint effect (in "{spec}"); '
            f"use one of {', '.join(TAINT_EFFECTS)}"
        )
    return effect


def parse_taint_args(specs: Sequence[str]) -> TaintChange:
    """kubectl's ParseTaints: `k=v:Effect`, `k:Effect`; removal `k:Effect-` or `k-`."""
    change = TaintChange()
    for spec in specs:
        if spec.endswith("-"):
            body = spec[:-1]
            key, _, effect = body.partition(":")
            key = key.partition("=")[0]  # kubectl ignores a value on removal
            if not key:
                raise UsageError(f'invalid taint spec: "{spec}"')
            change.remove.append(
                objects_pb2.Taint(key=key, effect=_effect(effect, spec) if effect else "")
            )
            continue
        head, sep, effect = spec.rpartition(":")
        if not sep or not head:
            raise UsageError(
                f'invalid taint spec: "{spec}" '
                "(use key=value:Effect, key:Effect, or key- to remove)"
            )
        key, _, value = head.partition("=")
        if not key:
            raise UsageError(f'invalid taint spec: "{spec}"')
        change.add.append(objects_pb2.Taint(key=key, value=value, effect=_effect(effect, spec)))
    added = {(t.key, t.effect) for t in change.add}
    clash = [t.key for t in change.remove if (t.key, t.effect) in added or
             (not t.effect and any(k == t.key for k, _ in added))]
    if clash:
        raise UsageError(
            f"can not both modify and remove the following taint(s) in the same command: "
            f"{', '.join(sorted(set(clash)))}"
        )
    if not change.add and not change.remove:
        raise UsageError("at least one taint update is required")
    return change


def split_node_args(words: Sequence[str]) -> tuple[str, list[str]]:
    """`nodes NAME rest...` or `node/NAME rest...` -> (NAME, rest)."""
    if not words:
        raise UsageError("give a node: nodes NAME or node/NAME")
    first = words[0]
    if "/" in first:
        kind_word, _, name = first.partition("/")
        rest = list(words[1:])
    else:
        if len(words) < 2:
            raise UsageError("give a node name: nodes NAME")
        kind_word, name = first, words[1]
        rest = list(words[2:])
    if resource(kind_word) != NODES:
        raise UsageError(f"only nodes can be labelled or tainted here, not {kind_word!r}")
    if not name:
        raise UsageError("give a node name")
    return name, rest


# ---- commands ----------------------------------------------------------------


def cmd_label(client: Client, args: argparse.Namespace) -> int:
    name, specs = split_node_args(args.words)
    change = parse_label_args(specs)
    before = get_node(client, name)
    after = client.nodes.Label(
        api_pb2.LabelRequest(
            name=name, set=change.set, remove=change.remove, overwrite=args.overwrite
        ),
        metadata=client.metadata,
        timeout=client.timeout,
    )
    if dict(after.metadata.labels) == dict(before.metadata.labels):
        print(f"node/{name} not labeled")
    elif change.remove and not change.set:
        print(f"node/{name} unlabeled")
    else:
        print(f"node/{name} labeled")
    return 0


def cmd_taint(client: Client, args: argparse.Namespace) -> int:
    name, specs = split_node_args(args.words)
    change = parse_taint_args(specs)
    client.nodes.Taint(
        api_pb2.TaintRequest(
            name=name, add=change.add, remove=change.remove, overwrite=args.overwrite
        ),
        metadata=client.metadata,
        timeout=client.timeout,
    )
    print(f"node/{name} {'untainted' if change.remove and not change.add else 'tainted'}")
    return 0


def cmd_cordon(client: Client, args: argparse.Namespace) -> int:
    unschedulable = args.command == "cordon"
    word = "cordoned" if unschedulable else "uncordoned"
    for name in args.names:
        node = get_node(client, name)
        if node.spec.unschedulable == unschedulable:
            print(f"node/{name} already {word}")
            continue
        client.nodes.Cordon(
            api_pb2.CordonRequest(name=name, unschedulable=unschedulable),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        print(f"node/{name} {word}")
    return 0


def get_node(client: Client, name: str) -> objects_pb2.Node:
    node: objects_pb2.Node = client.nodes.Get(
        api_pb2.NodeRef(name=name), metadata=client.metadata, timeout=client.timeout
    )
    return node


def list_nodes(client: Client, selector: str) -> list[objects_pb2.Node]:
    reply = client.nodes.List(
        api_pb2.ListNodesRequest(label_selector=selector),
        metadata=client.metadata,
        timeout=client.timeout,
    )
    return sorted(reply.items, key=lambda n: n.metadata.name)


def register(subparsers: Subparsers) -> None:
    """Adds label, taint, cordon and uncordon."""
    parents = common_parents()
    label = subparsers.add_parser(
        "label", parents=parents, help="update the labels of a node",
        description="dsctl label nodes NAME k=v k2- [--overwrite]",
    )
    label.add_argument("words", nargs="+", metavar="nodes NAME KEY=VAL|KEY-")
    label.add_argument("--overwrite", action="store_true",
                       help="allow changing the value of an existing label")
    label.set_defaults(func=bind(cmd_label))

    taint = subparsers.add_parser(
        "taint", parents=parents, help="update the taints of a node",
        description="dsctl taint nodes NAME k=v:NoSchedule k:NoExecute- k-",
    )
    taint.add_argument("words", nargs="+", metavar="nodes NAME KEY[=VAL]:EFFECT|KEY-")
    taint.add_argument("--overwrite", action="store_true",
                       help="allow replacing a taint with the same key and effect")
    taint.set_defaults(func=bind(cmd_taint))

    for command, text in (("cordon", "mark a node unschedulable"),
                          ("uncordon", "mark a node schedulable")):
        sub = subparsers.add_parser(command, parents=parents, help=text,
                                    description=f"{text} (DaemonSet pods ignore it, as in "
                                    "Kubernetes)")
        sub.add_argument("names", nargs="+", metavar="NODE")
        sub.set_defaults(func=bind(cmd_cordon), command=command)
