"""dsctl rollout: history, undo, status, restart, pause and resume of a daemon set.

kubectl's words and exit codes (polymorphichelpers history.go, rollback.go,
rollout_status.go); history diffs are computed here from the History reply.
`rollout status` follows the plane's WatchRollout stream and never polls;
the plane decides when it is done (ctrlplane/api/rollout_status.py: kubectl's
counters, or a rollout the plane recorded complete while a node is lost).
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import sys
from collections.abc import Iterator

import grpc
import yaml
from google.protobuf import json_format

from ctrlplane._proto.v1 import api_pb2, objects_pb2
from ctrlplane.cli import output
from ctrlplane.cli.args import parse_bool, parse_duration, parse_ref
from ctrlplane.cli.client import Client, CliError, Subparsers, bind, common_parents
from ctrlplane.domain.streams import namespace_or_default

TIMED_OUT = "timed out waiting for the condition"


def _ref(args: argparse.Namespace) -> api_pb2.ObjectRef:
    return api_pb2.ObjectRef(
        namespace=namespace_or_default(args.namespace), name=parse_ref(args.ref)
    )


def template_yaml(template: objects_pb2.PodTemplateSpec) -> str:
    return yaml.safe_dump(json_format.MessageToDict(template), sort_keys=True)


def template_diff(a: api_pb2.Revision, b: api_pb2.Revision) -> str:
    lines = difflib.unified_diff(
        template_yaml(a.template).splitlines(keepends=True),
        template_yaml(b.template).splitlines(keepends=True),
        fromfile=f"revision {a.revision}",
        tofile=f"revision {b.revision}",
    )
    return "".join(lines)


def status_message(ds: objects_pb2.DaemonSet) -> tuple[str, bool]:
    """kubectl's DaemonSetStatusViewer, for a plane that sent no message of its own."""
    name, st = ds.metadata.name, ds.status
    if ds.metadata.generation > st.observed_generation:
        return "Waiting for daemon set spec update to be observed...", False
    if st.updated_number_scheduled < st.desired_number_scheduled:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: {st.updated_number_scheduled} '
            f"out of {st.desired_number_scheduled} new pods have been updated...",
            False,
        )
    if st.number_available < st.desired_number_scheduled:
        return (
            f'Waiting for daemon set "{name}" rollout to finish: {st.number_available} '
            f"of {st.desired_number_scheduled} updated pods are available...",
            False,
        )
    return f'daemon set "{name}" successfully rolled out', True


# ---- history and undo --------------------------------------------------------


def cmd_history(client: Client, args: argparse.Namespace) -> int:
    ref = _ref(args)
    reply = client.daemon_sets.History(ref, metadata=client.metadata, timeout=client.timeout)
    revisions = {r.revision: r for r in reply.revisions}
    if args.diff:
        a, b = (_revision(revisions, n) for n in args.diff)
        sys.stdout.write(template_diff(a, b) or f"revisions {a.revision} and {b.revision} "
                         "have the same template\n")
        return 0
    if args.revision:
        rev = _revision(revisions, args.revision)
        print(f"daemonset.apps/{ref.name} with revision #{rev.revision}")
        print("Pod Template:")
        for line in template_yaml(rev.template).splitlines():
            print(f"  {line}")
        return 0
    if args.patch:
        ordered = sorted(reply.revisions, key=lambda r: r.revision)
        print(f"daemonset.apps/{ref.name}")
        for prev, rev in itertools.pairwise(ordered):
            print(f"REVISION {rev.revision}: {rev.change_cause or '<none>'}")
            sys.stdout.write(template_diff(prev, rev) or "  (same template)\n")
        return 0
    print(f"daemonset.apps/{ref.name}")
    rows = [["REVISION", "CHANGE-CAUSE"]]
    rows += [[str(r.revision), r.change_cause or "<none>"]
             for r in sorted(reply.revisions, key=lambda r: r.revision)]
    # kubectl's history table is a tabwriter with padding 2 and no minimum width.
    sys.stdout.write(output.table(rows, padding=2, min_width=0))
    return 0


def _revision(revisions: dict[int, api_pb2.Revision], number: int) -> api_pb2.Revision:
    rev = revisions.get(number)
    if rev is None:
        known = ", ".join(str(n) for n in sorted(revisions)) or "none"
        raise CliError(f"unable to find the specified revision {number} (known: {known})")
    return rev


def cmd_undo(client: Client, args: argparse.Namespace) -> int:
    ref = _ref(args)
    reply = client.daemon_sets.Undo(
        api_pb2.UndoRequest(ref=ref, to_revision=args.to_revision),
        metadata=client.metadata, timeout=client.timeout,
    )
    if reply.skipped:
        target = args.to_revision or reply.revision
        print(f"daemonset.apps/{ref.name} skipped rollback "
              f"(current template already matches revision {target})")
    else:
        print(f"daemonset.apps/{ref.name} rolled back")
    return 0


# ---- status ------------------------------------------------------------------


def cmd_status(client: Client, args: argparse.Namespace) -> int:
    ref = _ref(args)
    timeout = parse_duration(args.timeout) if args.timeout else 0.0
    stream = client.daemon_sets.WatchRollout(
        api_pb2.WatchRolloutRequest(ref=ref, watch=args.watch),
        metadata=client.metadata,
        timeout=timeout or None,
    )
    progress = _Progress.start() if args.watch and sys.stdout.isatty() else None
    try:
        return _follow(stream, progress, watch=args.watch)
    except grpc.RpcError as exc:
        if isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise CliError(TIMED_OUT) from exc
        raise
    finally:
        if progress is not None:
            progress.stop()
        stream.cancel()


def _follow(
    stream: Iterator[api_pb2.RolloutStatus], progress: _Progress | None, *, watch: bool
) -> int:
    last = ""
    for status in stream:
        message, done = status.message, status.done
        if not message:
            message, done = status_message(status.daemon_set)
        message = message.rstrip("\n")
        if progress is not None:
            progress.update(status.daemon_set)
        if status.failed:
            raise CliError(message or f'daemon set "{status.daemon_set.metadata.name}" '
                           "rollout failed")
        if message != last:
            _say(message, progress)
            last = message
        if done or status.done:
            return 0
    if watch:
        raise CliError("the plane ended the watch before the rollout finished")
    return 0  # --watch=false: one status, printed; kubectl exits 0


def _say(message: str, progress: _Progress | None) -> None:
    if progress is not None:
        progress.print(message)
    else:
        print(message, flush=True)


class _Progress:
    """A rich progress bar under the messages, on a terminal only."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
        )
        self._updated = self._progress.add_task("updated  ", total=None)
        self._available = self._progress.add_task("available", total=None)

    @classmethod
    def start(cls) -> _Progress:
        bar = cls()
        bar._progress.start()
        return bar

    def update(self, ds: objects_pb2.DaemonSet) -> None:
        total = ds.status.desired_number_scheduled
        self._progress.update(
            self._updated, total=total, completed=ds.status.updated_number_scheduled
        )
        self._progress.update(self._available, total=total, completed=ds.status.number_available)

    def print(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)

    def stop(self) -> None:
        self._progress.stop()


# ---- restart, pause, resume --------------------------------------------------


def cmd_restart(client: Client, args: argparse.Namespace) -> int:
    ref = _ref(args)
    client.daemon_sets.Restart(ref, metadata=client.metadata, timeout=client.timeout)
    print(f"daemonset.apps/{ref.name} restarted")
    return 0


def cmd_pause(client: Client, args: argparse.Namespace) -> int:
    ref = _ref(args)
    pause = args.action == "pause"
    current = client.daemon_sets.Get(ref, metadata=client.metadata, timeout=client.timeout)
    if current.status.paused == pause:
        print(f"daemonset.apps/{ref.name} already {'paused' if pause else 'resumed'}")
        return 0
    call = client.daemon_sets.Pause if pause else client.daemon_sets.Resume
    call(ref, metadata=client.metadata, timeout=client.timeout)
    print(f"daemonset.apps/{ref.name} {'paused' if pause else 'resumed'}")
    return 0


# ---- parsers -----------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    parents = common_parents()
    rollout = subparsers.add_parser(
        "rollout", parents=parents, help="manage the rollout of a daemon set",
        description="dsctl rollout history|undo|status|restart|pause|resume ds/NAME",
    )
    actions = rollout.add_subparsers(dest="action", required=True, metavar="ACTION")

    def sub(name: str, text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(
            name, parents=parents, help=text, description=text
        )
        parser.add_argument("ref", nargs="+", metavar="ds/NAME | daemonset NAME")
        parser.add_argument("-n", "--namespace", default="")
        return parser

    history = sub("history", "view rollout history (REVISION, CHANGE-CAUSE)")
    history.add_argument("--revision", type=int, default=0, metavar="N",
                         help="show the pod template of revision N")
    history.add_argument("--diff", type=int, nargs=2, metavar=("A", "B"),
                         help="the template diff between revisions A and B")
    history.add_argument("-p", "--patch", action="store_true",
                         help="each revision's template diff from the one before")
    history.set_defaults(func=bind(cmd_history))

    undo = sub("undo", "roll back to a previous revision (a new revision equal to it)")
    undo.add_argument("--to-revision", type=int, default=0, metavar="N",
                      help="the revision to roll back to (0: the previous one)")
    undo.set_defaults(func=bind(cmd_undo))

    status = sub("status", "follow a rollout until it is done (exit 0) or fails (exit 1)")
    status.add_argument("-w", "--watch", type=parse_bool, default=True, metavar="BOOL",
                        help="watch until done (default true); --watch=false prints once")
    status.add_argument("--timeout", default="", metavar="DURATION",
                        help="give up after this long (e.g. 5m); 0 waits forever")
    status.set_defaults(func=bind(cmd_status))

    sub("restart", "restart every pod (a new revision with a restartedAt annotation)"
        ).set_defaults(func=bind(cmd_restart))
    sub("pause", "pause a rollout: no new replacements start").set_defaults(
        func=bind(cmd_pause))
    sub("resume", "resume a paused rollout").set_defaults(func=bind(cmd_pause))
