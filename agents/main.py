"""`ctrlplane agent`: parse the command line, wire runtime, static pods and agent, run.

It runs until SIGTERM or SIGINT, then closes the stream cleanly. By default
the pods keep running (as kubelet's do) and a restarted agent adopts them;
`--stop-pods-on-exit` stops them. Nothing here runs pods or talks gRPC itself.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import os
import random
import signal
import socket
import sys
from pathlib import Path

import grpc
import platformdirs

from agents.agent import RECONNECT_OPTIONS, Agent, AgentConfig
from agents.runtime import Runtime
from agents.runtime.process import Backoff, ProcessRuntime
from agents.runtime.simulated import SimulatedRuntime
from agents.static_pods import StaticPods
from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.taints import parse_taint_specs

log = logging.getLogger("ctrlplane.agent")

# Agents ping an idle connection so a vanished plane is noticed (the plane
# permits pings every 10 s without calls, see ctrlplane/server.py).
CHANNEL_OPTIONS = [
    *RECONNECT_OPTIONS,
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def parse_labels(text: str) -> dict[str, str]:
    """`k=v,k2=v2` -> dict (validated by the plane, which knows the syntax rules)."""
    labels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"label {item!r} is not key=value")
        labels[key] = value
    return labels


def parse_taints(text: str) -> list[objects_pb2.Taint]:
    """`k=v:Effect,k2:Effect` -> taints, as kubectl taint writes them (the domain's parser)."""
    specs = [part.strip() for part in text.split(",") if part.strip()]
    try:
        taints, removals = parse_taint_specs(specs, "--taints")
    except InvalidSpec as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    if removals:
        raise argparse.ArgumentTypeError(f"--taints adds taints; {removals[0]}- removes one")
    return taints


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ctrlplane agent",
        description="Run a node agent: hold a stream to the plane, run the pods assigned "
        "to this node (and static pods from a manifest directory), report their status. "
        "SIGTERM stops it and leaves the pods running; a restarted agent adopts them.",
    )
    p.add_argument("--server", default="127.0.0.1:7443", help="the plane, HOST:PORT")
    p.add_argument("--node-name", default=socket.gethostname(), help="default: the host name")
    p.add_argument("--labels", type=parse_labels, default={}, help="k=v,k2=v2")
    p.add_argument("--taints", type=parse_taints, default=[], help="k=v:NoSchedule,...")
    p.add_argument("--data-dir", type=Path, help="pods, logs and state (default: per user)")
    p.add_argument(
        "--runtime",
        choices=("process", "simulated"),
        default="process",
        help="process: real child processes (default); simulated: pretend (benchmarks)",
    )
    p.add_argument("--pod-manifest-path", type=Path, help="a directory of static pod manifests")
    p.add_argument(
        "--stop-pods-on-exit", action="store_true", help="stop the pods when the agent stops"
    )
    p.add_argument(
        "--sim-ready-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="simulated runtime: seconds until a pod is Running and Ready",
    )
    p.add_argument(
        "--sim-fail-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="simulated runtime: fraction of pods that fail (0..1)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed for jitter and injected failures")
    p.add_argument(
        "--restart-backoff",
        type=float,
        default=10.0,
        metavar="S",
        help="first crash back-off in seconds (doubles up to 5 min)",
    )
    p.add_argument(
        "--reconnect-cap",
        type=float,
        default=5.0,
        metavar="S",
        help="longest wait between reconnect attempts (exponential back-off, full jitter)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("CTRLPLANE_TOKEN", ""),
        help="bearer token when the plane requires one (default: $CTRLPLANE_TOKEN)",
    )
    p.add_argument("--ca", type=Path, metavar="PEM", help="TLS: the CA that signed the plane")
    p.add_argument(
        "--cert", type=Path, metavar="PEM", help="mTLS: this node's certificate (CN = node name)"
    )
    p.add_argument("--key", type=Path, metavar="PEM", help="mTLS: the certificate's private key")
    p.add_argument("--log-level", default="INFO")
    return p


def make_runtime(args: argparse.Namespace, data_dir: Path, rng: random.Random) -> Runtime:
    if args.runtime == "simulated":
        return SimulatedRuntime(
            ready_delay=args.sim_ready_delay, fail_rate=args.sim_fail_rate, rng=rng
        )
    return ProcessRuntime(data_dir, args.node_name, backoff=Backoff(base=args.restart_backoff))


def open_channel(args: argparse.Namespace) -> grpc.aio.Channel:
    """Plain, TLS (--ca) or mutual TLS (--ca, --cert, --key) to the plane."""
    if args.ca is None and args.cert is None:
        return grpc.aio.insecure_channel(args.server, options=CHANNEL_OPTIONS)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=args.ca.read_bytes() if args.ca else None,
        private_key=args.key.read_bytes() if args.key else None,
        certificate_chain=args.cert.read_bytes() if args.cert else None,
    )
    return grpc.aio.secure_channel(args.server, credentials, options=CHANNEL_OPTIONS)


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    rng = random.Random(args.seed)
    runtime = make_runtime(args, data_dir, rng)
    if isinstance(runtime, ProcessRuntime):
        adopted = runtime.adopt()
        if adopted:
            log.info("adopted %d pod(s) left running by a previous agent", len(adopted))
    static = None
    if args.pod_manifest_path is not None:
        static = StaticPods(args.pod_manifest_path, args.node_name)
    config = AgentConfig(
        node_name=args.node_name,
        labels=args.labels,
        taints=args.taints,
        backoff_cap=args.reconnect_cap,
        stop_pods_on_exit=args.stop_pods_on_exit,
        token=args.token,
    )
    async with open_channel(args) as channel:
        agent = Agent(config, runtime, channel, rng=rng, static=static)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.stop)
        log.info("agent %s connecting to %s (data in %s)", args.node_name, args.server, data_dir)
        await agent.run()
    log.info("agent %s stopped", args.node_name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if (args.cert is None) != (args.key is None):
        parser.error("--cert and --key go together")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data_dir: Path = args.data_dir or Path(
        platformdirs.user_data_dir("ctrlplane"), f"agent-{args.node_name}"
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    # One agent per data dir: two would adopt and restart each other's pods.
    lock = (data_dir / "agent.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"ctrlplane agent: another agent is using {data_dir}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(run(args, data_dir))
    finally:
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
