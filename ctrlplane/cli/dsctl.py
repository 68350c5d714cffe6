"""dsctl, the client: kubectl's words for DaemonSets, nodes, pods, rollouts and the log.

Builds the argument parser from each command module's `register`, runs the
chosen command, and turns every failure into one `error: ...` line on stderr
and a non-zero exit code. It holds no command logic of its own.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

import grpc

from ctrlplane.cli import (
    client,
    describe,
    events_cmd,
    nodes,
    plan,
    replay_cmd,
    resources,
    rollout,
)
from ctrlplane.cli.args import UsageError
from ctrlplane.cli.client import (
    DEFAULT_SERVER,
    SERVER_ENV,
    CliError,
    rpc_error_message,
)

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dsctl",
        description="Control a ctrlplane DaemonSet plane (kubectl's words and exit codes).",
        epilog=f"The plane's address comes from --server, else ${SERVER_ENV}, "
        f"else {DEFAULT_SERVER}.",
    )
    parser.add_argument(
        "--server", "-s", default=None, metavar="HOST:PORT",
        help=f"the plane to talk to (env {SERVER_ENV}; default {DEFAULT_SERVER})",
    )
    client.add_tls_flags(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    resources.register(subparsers)
    describe.register(subparsers)
    nodes.register(subparsers)
    rollout.register(subparsers)
    plan.register(subparsers)
    events_cmd.register(subparsers)
    replay_cmd.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run dsctl with `argv` (default: the process's arguments); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    error_code = int(getattr(args, "error_code", 1))
    try:
        return int(args.func(args))
    except CliError as exc:
        return _fail(exc.message, exc.code)
    except UsageError as exc:
        return _fail(str(exc), error_code)
    except grpc.RpcError as exc:
        server = getattr(args, "server", None) or os.environ.get(SERVER_ENV) or DEFAULT_SERVER
        return _fail(rpc_error_message(exc, server), error_code)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `dsctl events | head`: the reader left; say nothing, as kubectl does.
        _silence_stdout()
        return 0 if error_code == 1 else error_code


def _fail(message: str, code: int) -> int:
    sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (e.g. captured in tests)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
