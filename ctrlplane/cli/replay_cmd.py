"""`dsctl replay`: time travel, diffs, explain and decision checks over a log.

    dsctl replay LOG|--server ADDR [--at SEQ|TIME] [FILTER ...] [-o json]
    dsctl replay LOG --diff A..B [FILTER ...]
    dsctl replay LOG --explain pod/NAME | --explain node/NAME ds/NAME [--at ...]
    dsctl replay LOG --check
    dsctl replay LOG --export FILE.jsonl [--at SEQ]

LOG is an SQLite event-log file (opened read-only), or a JSONL export.
FILTER is ds/NAME (or ds/NS/NAME) and/or node/NAME. Exit codes: 0 fine,
1 the check failed (or nothing to explain), 2 usage or input errors.
This module parses arguments and prints; the work is in ctrlplane.replay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ctrlplane.eventlog.base import EventLogError
from ctrlplane.replay.check import check_log
from ctrlplane.replay.diff import Range, diff_range, render_diff
from ctrlplane.replay.explain import explain_node, explain_pod, render_explanation
from ctrlplane.replay.jsonl import JsonlError, export_jsonl
from ctrlplane.replay.snapshots import load_snapshot
from ctrlplane.replay.sources import JsonlSource, LogSource, ServerSource, open_source
from ctrlplane.replay.timetravel import HEAD, At, fold_to, view_time
from ctrlplane.replay.view import Filter, cluster_view, render_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_TARGET_KINDS = ("pod/", "pods/", "po/", "node/", "nodes/", "no/", "ds/", "daemonset/",
                 "daemonsets/")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay an event log: state at a moment, diffs, explain, decision check",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("words", nargs="*", metavar="LOG|FILTER",
                        help="the log file, then filters ds/NAME node/NAME")
    parser.add_argument("--server", dest="replay_server", metavar="ADDR",
                        help="read a live plane through Events.Read instead of a file")
    parser.add_argument("--at", dest="replay_at", metavar="SEQ|TIME",
                        help="a seq, @UNIX_SECONDS or an ISO 8601 time (default: the head)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--diff", dest="replay_diff", metavar="A..B",
                      help="what changed between two moments, and the events between")
    mode.add_argument("--explain", dest="replay_explain", nargs="+", metavar="TARGET",
                      help="pod/NAME, or node/NAME ds/NAME: why the controller decided")
    mode.add_argument("--check", dest="replay_check", action="store_true",
                      help="re-run reconcile at every recorded decision; fail on divergence")
    mode.add_argument("--export", dest="replay_export", metavar="FILE.jsonl",
                      help="write the log (up to --at SEQ) as JSONL ('-' for stdout)")
    parser.add_argument("-o", "--output", dest="replay_output", choices=["text", "json"],
                        default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (ValueError, OSError, JsonlError, EventLogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _split_words(args: argparse.Namespace) -> tuple[str | None, list[str], list[str]]:
    """(LOG, filters, explain targets): anything shaped kind/name is a target."""
    log: str | None = None
    filters: list[str] = []
    words = list(args.words)
    explain: list[str] = []
    for word in args.replay_explain or []:
        if word.startswith(_TARGET_KINDS):
            explain.append(word)
        else:
            words.append(word)
    for word in words:
        if word.startswith(_TARGET_KINDS):
            filters.append(word)
        elif log is None:
            log = word
        else:
            raise ValueError(f"unexpected argument {word!r}: give one LOG, then ds/NAME node/NAME")
    return log, filters, explain


async def _run(args: argparse.Namespace) -> int:
    log, filters, explain = _split_words(args)
    if log is not None and args.replay_server:
        raise ValueError("give either an event-log file or --server ADDR, not both")
    server = args.replay_server or (None if log else getattr(args, "server", None))
    if log is None and not server:
        raise ValueError("give an event-log file (SQLite or .jsonl) or --server ADDR")
    source = await open_source(log, server=server if log is None else None)
    args.replay_log = None if isinstance(source, JsonlSource | ServerSource) else log
    try:
        return await _dispatch(args, source, filters, explain)
    finally:
        await source.close()


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if args.replay_output == "json":
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text)


async def _dispatch(
    args: argparse.Namespace, source: LogSource, filters: list[str], explain: list[str]
) -> int:
    at = At.parse(args.replay_at) if args.replay_at else HEAD
    filt = Filter.parse(filters)
    if args.replay_check:
        report = await check_log(source, at=at)
        _emit(args, report.as_dict(), report.text() + "\n")
        return EXIT_OK if report.ok else EXIT_FAILED
    if args.replay_diff:
        diff = await diff_range(source, Range.parse(args.replay_diff), filt)
        _emit(args, diff, render_diff(diff))
        return EXIT_OK
    if args.replay_explain is not None:
        return await _explain(args, source, explain, at)
    if args.replay_export:
        return await _export(source, args.replay_export, at)
    # A snapshot beside an SQLite log saves the fold up to it (seq targets only:
    # a time target needs every event's time looked at in order).
    snapshot = (await load_snapshot(source, args.replay_log, max_seq=at.seq)
                if at.time is None and args.replay_log else None)
    state = await fold_to(source, at, snapshot)
    view = cluster_view(state, view_time(state, at), filt)
    _emit(args, view, render_text(view))
    return EXIT_OK


async def _explain(
    args: argparse.Namespace, source: LogSource, targets: list[str], at: At
) -> int:
    kinds = {t.split("/", 1)[0]: t.split("/", 1)[1] for t in targets}
    pod = kinds.get("pod") or kinds.get("pods") or kinds.get("po")
    node = kinds.get("node") or kinds.get("nodes") or kinds.get("no")
    ds = kinds.get("ds") or kinds.get("daemonset") or kinds.get("daemonsets")
    if pod:
        explanation = await explain_pod(source, pod, at)
    elif node and ds:
        explanation = await explain_node(source, node, ds, at)
    else:
        raise ValueError("--explain takes pod/NAME, or node/NAME with ds/NAME")
    _emit(args, explanation.as_dict(), render_explanation(explanation))
    return EXIT_OK if explanation.found else EXIT_FAILED


async def _export(source: LogSource, target: str, at: At) -> int:
    if at.time is not None:
        raise ValueError("--export takes --at SEQ, not a time")
    if target == "-":
        count = await export_jsonl(source.iterate(0, until_seq=at.seq), sys.stdout)
    else:
        out = await asyncio.to_thread(open, target, "w", encoding="utf-8")
        with out:
            count = await export_jsonl(source.iterate(0, until_seq=at.seq), out)
    print(f"exported {count} events to {target}", file=sys.stderr)
    return EXIT_OK
