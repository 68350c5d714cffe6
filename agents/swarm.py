"""Many simulated agents in one process, over a few shared channels (tests, benchmarks).

`python -m agents.swarm --server HOST:PORT --nodes 1000 [--prefix swarm-] [--start 0]`
runs agents named <prefix><start>..<prefix><start+nodes-1> with the simulated
runtime. Each is a real `Agent` with its own Connect stream; streams are
spread over `--channels` HTTP/2 connections (one per channel: a local
subchannel pool keeps gRPC from folding them into one). It prints
`connected N` once every agent has had its first snapshot, then one
`sessions S` line whenever the total number of sessions changes (so a test
sees a reconnect storm complete). SIGTERM stops every agent cleanly.
`--raw` runs bare streams instead, which ack every message with one status
and reconnect like agents: the benchmark's floors.

Measured choices (scripts/bench agents, 2 shared cores):
- Connect waits for the channel (`--wait-for-ready`, default): 10,000 agents
  failing fast through a plane restart spent 12.2 s of CPU in these processes
  against 6.9 s waiting, CPU the plane on the same box needs.
- 250 streams per channel (HTTP/2 connection; the plane allows 100,000
  concurrent streams each): 2, 8 or 40 channels for 2,000 agents made no
  measurable difference to a storm.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import logging
import random
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import grpc

from agents.agent import RECONNECT_OPTIONS, Agent, AgentConfig
from agents.main import parse_labels
from agents.runtime.simulated import SimulatedRuntime
from ctrlplane._proto.v1 import agent_pb2, agent_pb2_grpc

log = logging.getLogger(__name__)

CHANNEL_OPTIONS = [
    *RECONNECT_OPTIONS,
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m agents.swarm", description=__doc__)
    p.add_argument("--server", required=True)
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--start", type=int, default=0, help="index of the first node")
    p.add_argument("--prefix", default="swarm-")
    p.add_argument("--channels", type=int, default=0, help="default: one per 250 agents")
    p.add_argument("--ready-delay", type=float, default=0.0)
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument("--labels", type=parse_labels, default={}, help="k=v,... for every node")
    p.add_argument("--backoff-base", type=float, default=0.2)
    p.add_argument("--backoff-cap", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--raw", action="store_true", help="bare streams that ack each message")
    p.add_argument(
        "--wait-for-ready",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="queue Connect until the channel is up (see AgentConfig; default on)",
    )
    p.add_argument("--profile", metavar="PATH", help="cProfile this process after `connected`")
    return p


def _report_crash(task: asyncio.Task[None]) -> None:
    """A done callback: an agent (or raw client) that crashed says so at once."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s crashed", task.get_name(), exc_info=task.exception())


def start_all(coros: dict[str, Coroutine[Any, Any, None]]) -> list[asyncio.Task[None]]:
    """One task per name; each one's crash is logged when it happens (not silent
    until the end, and one crash does not stop the other thousands)."""
    tasks = []
    for name, coro in coros.items():
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_report_crash)
        tasks.append(task)
    return tasks


def quiet_gc() -> None:
    """Thousands of long-lived agents: keep the cyclic GC from rescanning them all.

    This process is a load generator; without this, full collections over
    every agent's objects cost it more CPU than the agents themselves.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def raw_client(
    channel: grpc.aio.Channel, name: str, stopping: asyncio.Event, counts: list[int]
) -> None:
    """The floors' client: Hello, then one ack (a status) per message received.

    It reconnects like an agent (queued until the channel is up, then full
    jitter below the agents' base), so a restarted bare server measures the
    reconnect storm's floor; `counts[0]` counts first messages (sessions).
    """
    stub = agent_pb2_grpc.AgentStub(channel)  # type: ignore[no-untyped-call]
    hello = agent_pb2.AgentMessage(hello=agent_pb2.Hello(node_name=name))
    ack = agent_pb2.AgentMessage(
        pod_status=agent_pb2.PodStatusUpdate(pod_name=name, phase="Running", ready=True)
    )
    while not stopping.is_set():
        call = stub.Connect(wait_for_ready=True)
        first = True
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call.write(hello)
            while not stopping.is_set():
                msg = await call.read()
                if msg is grpc.aio.EOF:
                    break
                if first:
                    first = False
                    counts[0] += 1
                await call.write(ack)
        call.cancel()
        await asyncio.sleep(random.uniform(0, 0.2))


async def run_raw(args: argparse.Namespace, channels: list[grpc.aio.Channel]) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    counts = [0]
    names = [f"{args.prefix}{args.start + i}" for i in range(args.nodes)]
    tasks = start_all(
        {
            name: raw_client(channels[i % len(channels)], name, stopping, counts)
            for i, name in enumerate(names)
        }
    )
    quiet_gc()
    print(f"started {args.nodes}", flush=True)
    last = 0
    while not stopping.is_set():
        if counts[0] != last:
            last = counts[0]
            print(f"sessions {last}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), 0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run(args: argparse.Namespace) -> None:
    count = max(1, args.channels or -(-args.nodes // 250))
    channels = [
        grpc.aio.insecure_channel(args.server, options=[*CHANNEL_OPTIONS, ("swarm.channel", i)])
        for i in range(count)
    ]
    if args.raw:
        await run_raw(args, channels)
        return
    agents = []
    for i in range(args.nodes):
        index = args.start + i
        rng = random.Random(args.seed * 1_000_003 + index)
        runtime = SimulatedRuntime(ready_delay=args.ready_delay, fail_rate=args.fail_rate, rng=rng)
        config = AgentConfig(
            node_name=f"{args.prefix}{index}",
            labels=args.labels,
            backoff_base=args.backoff_base,
            backoff_cap=args.backoff_cap,
            wait_for_ready=args.wait_for_ready,
        )
        agents.append(Agent(config, runtime, channels[i % count], rng=rng))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    quiet_gc()
    tasks = start_all({agent.config.node_name: agent.run() for agent in agents})
    announced = False
    last = -1
    profiler = cProfile.Profile() if args.profile else None
    while not stopping.is_set():
        sessions = sum(a.sessions for a in agents)
        if not announced and all(a.sessions for a in agents):
            announced = True
            print(f"connected {len(agents)}", flush=True)
            if profiler is not None:
                profiler.enable()
        if announced and sessions != last:
            last = sessions
            print(f"sessions {sessions}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), 0.1)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    for agent in agents:
        agent.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
