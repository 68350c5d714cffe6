"""dsctl plan -f FILE: a dry run of apply, as `nomad job plan` shows it.

Prints the spec diff, the nodes that would gain, lose or replace a pod, and
the generation to pass back to `dsctl apply --expected-generation`. Exit 0
when nothing would change, 1 when something would, 2 on error.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter

import grpc

from ctrlplane._proto.v1 import api_pb2
from ctrlplane.cli.client import (
    Client,
    CliError,
    Subparsers,
    bind,
    common_parents,
    rpc_error_message,
)

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 1
EXIT_ERROR = 2

# Nomad's markers: + create, - destroy, +/- replace (in place).
_MARK = {"create": "+", "delete": "-", "replace": "+/-", "keep": " "}
_ORDER = ("create", "replace", "delete", "keep")


def render_plan(name: str, reply: api_pb2.PlanResponse) -> str:
    if reply.created:
        head = f'+ DaemonSet: "{name}" (create)'
    elif reply.changed:
        head = f'+/- DaemonSet: "{name}"'
    else:
        head = f'DaemonSet: "{name}" (no changes)'
    lines = [head]
    if reply.diff:
        lines += ["  " + line if line else "" for line in reply.diff.rstrip("\n").split("\n")]
    lines += ["", "Scheduler dry-run:"]
    counts = Counter(c.action for c in reply.changes)
    if not reply.changes:
        lines.append("- no nodes are eligible")
    else:
        summary = ", ".join(f"{counts[a]} {a}" for a in _ORDER if counts[a])
        lines.append(f"- nodes: {summary}")
        for change in sorted(reply.changes, key=lambda c: (_ORDER.index(c.action)
                                                          if c.action in _ORDER else 9,
                                                          c.node_name)):
            if change.action == "keep":
                continue
            pod = f" pod {change.pod_name}" if change.pod_name else ""
            why = f" ({change.reason})" if change.reason else ""
            score = f" [score {change.score}]" if change.score else ""
            lines.append(f"  {_MARK.get(change.action, '?'):>3} {change.node_name}: "
                         f"{change.action}{pod}{why}{score}")
    return "\n".join(lines) + "\n"


def cmd_plan(client: Client, args: argparse.Namespace) -> int:
    # Imported here: the domain's validators are only needed to apply or plan.
    from ctrlplane.cli.manifests import ManifestError, load

    try:
        manifests = load(args.filename, args.namespace)
    except (ManifestError, OSError) as exc:
        raise CliError(str(exc), code=EXIT_ERROR) from exc
    changed = False
    generations: list[int] = []
    for manifest in manifests:
        ds = manifest.daemon_set
        try:
            reply = client.daemon_sets.Plan(
                api_pb2.ApplyRequest(daemon_set=ds),
                metadata=client.metadata, timeout=client.timeout,
            )
        except grpc.RpcError as exc:
            message = rpc_error_message(exc, client.server)
            raise CliError(f"{manifest.source}: {message}", code=EXIT_ERROR) from exc
        sys.stdout.write(render_plan(ds.metadata.name, reply) + "\n")
        changed = changed or reply.changed or reply.created
        # -1 asks the plane to refuse the apply if the daemon set appeared meanwhile.
        generations.append(-1 if reply.created else reply.generation)
    if len(set(generations)) == 1:
        files = " ".join(f"-f {shlex.quote(f)}" for f in args.filename)
        print(f"Generation: {generations[0]}")
        print("To submit with a check that nothing changed since this plan, run:")
        print(f"dsctl apply {files} --expected-generation {generations[0]}")
    else:
        print("Generations: " + ", ".join(
            f"{m.daemon_set.metadata.name}={g}" for m, g in zip(manifests, generations,
                                                              strict=True)))
        print("(apply each file with its own --expected-generation)")
    return EXIT_CHANGES if changed else EXIT_NO_CHANGES


def _guarded(client: Client, args: argparse.Namespace) -> int:
    try:
        return cmd_plan(client, args)
    except grpc.RpcError as exc:
        raise CliError(rpc_error_message(exc, client.server), code=EXIT_ERROR) from exc


def register(subparsers: Subparsers) -> None:
    plan = subparsers.add_parser(
        "plan", parents=common_parents(), help="dry-run an apply: spec diff and node changes",
        description="dsctl plan -f FILE: exit 0 no changes, 1 changes, 2 error (as nomad)",
    )
    plan.add_argument("-f", "--filename", action="append", required=True, metavar="FILE")
    plan.add_argument("-n", "--namespace", default="")
    plan.set_defaults(func=bind(_guarded), error_code=EXIT_ERROR)
