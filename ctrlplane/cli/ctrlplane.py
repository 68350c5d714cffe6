"""`ctrlplane`: serve a plane, run a node agent, run benchmarks.

`serve` wires a Plane from the command line and runs it until SIGINT or
SIGTERM, then stops gracefully; `agent` and `bench` hand their arguments to
agents.main and ctrlplane.bench. No plane logic lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import TypeVar

import platformdirs

from ctrlplane.eventlog.base import EventLogError

DEFAULT_LISTEN = "127.0.0.1:7443"


def default_db() -> Path:
    return Path(platformdirs.user_data_dir("ctrlplane")) / "events.db"


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctrlplane serve", description="Run the control plane on an event log."
    )
    parser.add_argument(
        "--db",
        default=None,
        help=f"event log: a SQLite file or sqlite:///PATH (default: {default_db()})",
    )
    parser.add_argument(
        "--listen", default=DEFAULT_LISTEN, help=f"HOST:PORT to serve on (default {DEFAULT_LISTEN})"
    )
    parser.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE.jsonl",
        help="first append a recorded log (dsctl events --export) to the empty event log",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=5.0,
        help="seconds between agent heartbeats (default 5)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=15.0,
        help="an agent silent this long is NodeLost (default 15)",
    )
    parser.add_argument(
        "--no-controller",
        action="store_true",
        help="serve the API and agents without deciding anything (a read replica)",
    )
    parser.add_argument(
        "--tokens",
        metavar="FILE",
        help="require bearer tokens: one token,user,role line each (roles: admin, viewer, agent)",
    )
    parser.add_argument(
        "--tls-cert", type=Path, metavar="PEM", help="serve TLS with this certificate"
    )
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's private key")
    parser.add_argument(
        "--client-ca",
        type=Path,
        metavar="PEM",
        help="require client certificates signed by this CA (mTLS; an agent's CN names its node)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


# How long a failed start waits for the store's worker threads to finish.
THREADS_SETTLE_SECONDS = 5.0

T = TypeVar("T")


async def _settled(work: Awaitable[T]) -> T:
    """Await `work`; if it fails, let the threads it started finish before the loop closes.

    aiosqlite runs each connection in a thread that reports back through the
    event loop. When a connection fails to open (`--db` names a directory),
    aiosqlite stops its thread without waiting for it; if asyncio.run then
    closes the loop first, the thread dies printing "Event loop is closed"
    under our one-line error. Waiting here, with the loop still running,
    lets it finish quietly.
    """
    before = set(threading.enumerate())
    try:
        return await work
    except Exception:
        # Not the loop's own executor threads ("asyncio_N"): they live until it closes.
        started = [
            t
            for t in threading.enumerate()
            if t not in before and not t.daemon and not t.name.startswith("asyncio_")
        ]
        if started:
            # Joined from a worker thread: they need this loop running to finish.
            await asyncio.to_thread(_join, started, THREADS_SETTLE_SECONDS)
        raise


def _join(threads: list[threading.Thread], timeout: float) -> None:
    for thread in threads:
        thread.join(timeout)


async def _import(db: str, lines: Iterable[str]) -> int:
    from ctrlplane.eventlog import open_store
    from ctrlplane.replay.jsonl import import_jsonl

    store = await _settled(open_store(db))
    try:
        return await import_jsonl(store, lines)
    finally:
        await store.close()


def _db(args: argparse.Namespace) -> str:
    db: str = args.db or str(default_db())
    if not db.startswith(("sqlite:", "memory:")):
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    return db


async def serve(args: argparse.Namespace) -> int:
    from ctrlplane.api.auth import TokenTable
    from ctrlplane.server import Plane, PlaneConfig, PlaneFailed, tune_gc_for_serving

    tune_gc_for_serving()
    db = _db(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    plane = Plane(
        PlaneConfig(
            db_path=db,
            listen=args.listen,
            heartbeat_interval=args.heartbeat_interval,
            lease_seconds=args.lease_seconds,
            run_controller=not args.no_controller,
            tokens=TokenTable.load(args.tokens) if args.tokens else None,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            client_ca=args.client_ca,
        )
    )
    await _settled(plane.start())
    # Tests and scripts read this line to learn the port (with --listen HOST:0).
    print(f"ctrlplane: serving on {plane.address} (event log {db})", flush=True)
    running = asyncio.create_task(plane.wait())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    await plane.stop()
    print("ctrlplane: stopped", flush=True)
    if running.done() and not running.cancelled():
        try:
            running.result()
        except PlaneFailed as failed:
            print(f"ctrlplane: {failed}", file=sys.stderr)
            return 1
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    return 0


def _usage() -> str:
    return (
        "usage: ctrlplane {serve,agent,bench} ...\n"
        "  serve   run the control plane (ctrlplane serve --help)\n"
        "  agent   run a node agent (ctrlplane agent --help)\n"
        "  bench   run benchmarks (ctrlplane bench [PART ...])\n"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(), end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        args = _serve_parser().parse_args(rest)
        logging.basicConfig(
            level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        try:
            if args.import_file:
                with open(args.import_file, encoding="utf-8") as lines:
                    count = asyncio.run(_import(_db(args), lines))
                print(f"ctrlplane: imported {count} events from {args.import_file}", flush=True)
            return asyncio.run(serve(args))
        except (OSError, ValueError, RuntimeError, EventLogError) as error:
            # Bad flags, a port in use, a log that cannot be opened or imported.
            print(f"ctrlplane serve: {error}", file=sys.stderr)
            return 1
    if command == "agent":
        from agents.main import main as agent_main

        return agent_main(rest)
    if command == "bench":
        from ctrlplane.bench.__main__ import main as bench_main

        return bench_main(rest)
    print(f"ctrlplane: unknown command {command!r}\n" + _usage(), end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
