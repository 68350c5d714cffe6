"""SIGKILL the plane again and again during rolling updates; the log always replays.

Real processes: `ctrlplane serve` on a SQLite file and a swarm of simulated
agents (`python -m agents.swarm`) that reconnect with back-off. The plane is
killed 10 times while rollouts run, each time right after the log shows the
Nth rolling-update PodDeleted since the last kill (N = 1, 2, 3, 1, ...), so
every kill lands at a step of a rollout in progress (its replacement pod not
yet scheduled) and the kills fall at different steps, whatever the machine's
speed. After every restart the file is replayed read-only: the decision check
passes and no node ever held two pods of the daemon set (maxSurge 0), at any
seq. In the end the last rollout completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc
from ctrlplane.replay.check import check_log
from ctrlplane.replay.sources import open_source
from replay.recorder import web

pytestmark = pytest.mark.slow

NODES = 6
KILLS = 10
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PlaneProcess:
    def __init__(self, db: Path, port: int) -> None:
        self.db = db
        self.address = f"127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(BIN / "ctrlplane"),
            "serve",
            "--db",
            str(self.db),
            "--listen",
            self.address,
            "--heartbeat-interval",
            "0.3",
            "--lease-seconds",
            "5",
            "--log-level",
            "WARNING",
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(20):
            line = await self.process.stdout.readline()
        assert b"serving on" in line, line

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()


@contextlib.asynccontextmanager
async def swarm(address: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agents.swarm",
        "--server",
        address,
        "--nodes",
        str(NODES),
        "--prefix",
        "node-",
        "--labels",
        "disk=ssd",
        "--ready-delay",
        "0.1",
        "--backoff-base",
        "0.05",
        "--backoff-cap",
        "0.3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            while b"connected" not in await process.stdout.readline():
                pass
        # Keep draining its progress lines so it never blocks on a full pipe.
        drain = asyncio.create_task(process.stdout.read())
        yield process
    finally:
        process.terminate()
        await process.wait()
        drain.cancel()


LAST_STATUS: list[str] = [""]


async def rollout_done(address: str, revision: int) -> bool:
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = api_pb2_grpc.DaemonSetsStub(channel)  # type: ignore[no-untyped-call]
            ds = await stub.Get(api_pb2.ObjectRef(name="web"), timeout=2)
    except grpc.aio.AioRpcError as exc:
        LAST_STATUS[0] = f"Get failed: {exc.code().name}"
        return False
    s = ds.status
    LAST_STATUS[0] = str(s).replace("\n", "; ")
    return bool(
        s.current_revision == revision
        and s.updated_number_scheduled == NODES
        and s.number_available == NODES
        and s.current_number_scheduled == NODES
    )


async def apply(address: str, version: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = api_pb2_grpc.DaemonSetsStub(channel)  # type: ignore[no-untyped-call]
        await stub.Apply(
            api_pb2.ApplyRequest(daemon_set=web(f"v{version}")), timeout=5, wait_for_ready=True
        )


async def kill_point(address: str, after: int, steps: int, version: int) -> tuple[int, int]:
    """Follow the log from `after` to the `steps`-th rolling-update PodDeleted.

    A rollout that completes on the way is followed by the next version's apply,
    so there is always one to interrupt. Returns (seq of that PodDeleted, version).
    """
    seen = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = api_pb2_grpc.EventsStub(channel)  # type: ignore[no-untyped-call]
        stream = stub.Follow(api_pb2.ReadEventsRequest(after_seq=after), wait_for_ready=True)
        try:
            async with asyncio.timeout(30):
                async for event in stream:
                    kind = event.WhichOneof("kind")
                    if kind == "rollout_completed" and event.rollout_completed.revision == version:
                        version += 1
                        await apply(address, version)
                    elif kind == "pod_deleted" and event.pod_deleted.reason == "RollingUpdate":
                        seen += 1
                        if seen == steps:
                            return event.seq, version
        except TimeoutError:
            raise AssertionError(f"no rollout step {seen + 1} after seq {after}") from None
        finally:
            stream.cancel()
    raise AssertionError("the event stream ended")


async def wait_for(address: str, revision: int, within: float) -> None:
    # Polled: the plane is another process, there is nothing local to wait on.
    try:
        async with asyncio.timeout(within):
            while not await rollout_done(address, revision):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"revision {revision} not rolled out: {LAST_STATUS[0]}") from None


async def replay_ok(db: Path) -> int:
    source = await open_source(str(db))
    try:
        report = await check_log(source)
    finally:
        await source.close()
    assert report.ok, report.text()
    return report.decisions


async def test_sigkill_during_rollouts(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    plane = PlaneProcess(db, free_port())
    await plane.start()
    try:
        async with swarm(plane.address):
            await apply(plane.address, 1)
            await wait_for(plane.address, 1, 30)
            version, mark = 1, 0
            for kill in range(KILLS):
                mark, version = await kill_point(plane.address, mark, 1 + kill % 3, version)
                await plane.kill()
                await plane.start()
                await replay_ok(db)
            await wait_for(plane.address, version, 30)
            decisions = await replay_ok(db)
    finally:
        await plane.stop()
    # Every rollout has one rolling-update PodDeleted per node: the kills spanned this many.
    steps = sum(1 + kill % 3 for kill in range(KILLS))
    assert version >= 1 + math.ceil(steps / NODES)
    assert decisions >= NODES * 2 * version // 2
