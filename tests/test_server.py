"""The plane as a whole: serving, health, reflection, graceful stop, restart, the CLI."""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from conftest import plane_config, stubs_for
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from support import daemon_set, node, wait_until

from ctrlplane._proto.v1 import api_pb2, events_pb2
from ctrlplane.api.context import PlaneContext
from ctrlplane.domain.state import fold
from ctrlplane.domain.streams import node_stream
from ctrlplane.eventlog import open_store
from ctrlplane.eventlog.base import NewEvent
from ctrlplane.eventlog.memory import MemoryEventStore
from ctrlplane.replay import snapshots
from ctrlplane.replay.snapshots import list_snapshots
from ctrlplane.server import Plane


async def test_health_is_serving_once_folded(plane: Plane, channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_every_service(plane: Plane, channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: set[str] = set()
    async for response in stub.ServerReflectionInfo(requests()):
        names |= {s.name for s in response.list_services_response.service}
    assert {
        "ctrlplane.v1.DaemonSets",
        "ctrlplane.v1.Nodes",
        "ctrlplane.v1.Pods",
        "ctrlplane.v1.Events",
        "ctrlplane.v1.Agent",
        "grpc.health.v1.Health",
    } <= names


async def test_stop_ends_open_streams(tmp_path: Path) -> None:
    plane = Plane(plane_config(tmp_path))
    await plane.start()
    async with grpc.aio.insecure_channel(plane.address) as channel:
        stubs = stubs_for(channel)
        call = stubs.events.Follow(api_pb2.ReadEventsRequest())
        await stubs.nodes.Register(node("n1"))
        assert (await call.read()).seq == 1
        await plane.stop()
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await call.read()
        # What a client sees when the plane goes away under an open stream.
        assert ended.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


async def test_restarted_plane_continues_where_it_stopped(tmp_path: Path) -> None:
    async with Plane(plane_config(tmp_path)) as plane, grpc.aio.insecure_channel(
        plane.address
    ) as channel:
        stubs = stubs_for(channel)
        await stubs.nodes.Register(node("n1"))
        await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=daemon_set("web")))
        await wait_until(lambda: len(plane.feed.state.pods) == 1, feed=plane.feed)
        pods = set(plane.feed.state.pods)
        head = await plane.store.head()

    async with Plane(plane_config(tmp_path)) as plane:
        assert plane.controller is not None
        controller = plane.controller
        await wait_until(lambda: controller.passes >= 1, message="the first pass")
        assert set(plane.feed.state.pods) == pods
        assert await plane.store.head() == head  # nothing decided twice


async def test_two_planes_cannot_share_a_port(plane: Plane, tmp_path: Path) -> None:
    second = Plane(plane_config(tmp_path / "other", listen=plane.address))
    (tmp_path / "other").mkdir()
    with pytest.raises((OSError, RuntimeError)):
        await second.start()


async def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ctrlplane.cli.ctrlplane",
        "serve",
        "--db",
        str(db),
        "--listen",
        "127.0.0.1:0",
        "--log-level",
        "WARNING",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line.startswith("ctrlplane: serving on 127.0.0.1:"), line
        address = line.split()[3]
        async with grpc.aio.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            response = await health.Check(health_pb2.HealthCheckRequest())
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert b"ctrlplane: stopped" in out
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_extra_services_and_a_given_store(tmp_path: Path) -> None:
    """The extension point the agent service uses, on a store the caller owns."""
    store = MemoryEventStore()
    registered: list[bool] = []

    def register(ctx: PlaneContext, server: grpc.aio.Server) -> str:
        registered.append(ctx.feed.store is store)
        return "example.Extra"

    plane = Plane(plane_config(tmp_path, store=store, services=[register]))
    await plane.start()
    with pytest.raises(RuntimeError):
        plane.add_service(register)
    await plane.stop()
    assert registered == [True]
    assert await store.head() == 0  # still open: the plane did not close it
    await store.close()


async def test_cli_serve_on_a_directory_prints_one_line(tmp_path: Path) -> None:
    """A log that cannot be opened: one line, exit 1, no aiosqlite thread traceback."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ctrlplane.cli.ctrlplane", "serve",
        "--db", str(tmp_path), "--listen", "127.0.0.1:0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1, err.decode()
    assert lines[0].startswith(f"ctrlplane serve: cannot open event log {tmp_path}")


async def test_start_up_fold_of_a_big_log_freezes_the_gc(tmp_path: Path) -> None:
    (tmp_path / "small").mkdir()
    (tmp_path / "big").mkdir()
    gc.unfreeze()
    try:
        # The tests' logs are small: under the threshold nothing is frozen.
        async with Plane(plane_config(tmp_path / "small")) as small:
            await wait_until(lambda: small.controller is not None, message="serving")
            assert gc.get_freeze_count() == 0
        # A threshold of 0 makes this empty log "big".
        async with Plane(plane_config(tmp_path / "big", gc_freeze_events=0)) as big:
            await wait_until(lambda: big.controller is not None, message="serving")
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test process collects as usual


def foreign_copy(source: Path, target: Path, seq: int) -> None:
    """Write `source` as a snapshot of other code (another fingerprint) claiming `seq`."""
    data = source.read_bytes()
    start = len(snapshots.MAGIC) + 8
    size = int.from_bytes(data[len(snapshots.MAGIC) : start], "big")
    header = {**json.loads(data[start : start + size]), "fingerprint": "0" * 32, "seq": seq}
    head = json.dumps(header).encode()
    target.write_bytes(snapshots.MAGIC + len(head).to_bytes(8, "big") + head
                       + data[start + size :])


async def test_restart_starts_from_a_snapshot_equal_to_a_full_fold(tmp_path: Path) -> None:
    """A stopped plane leaves a snapshot; the next start folds only the tail after it."""
    async with Plane(plane_config(tmp_path)) as plane, grpc.aio.insecure_channel(
        plane.address
    ) as channel:
        assert plane.snapshot_seq == 0  # a fresh log: nothing to start from
        stubs = stubs_for(channel)
        for name in ("n1", "n2"):
            await stubs.nodes.Register(node(name))
        await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=daemon_set("web")))
        await wait_until(lambda: len(plane.feed.state.pods) == 2, feed=plane.feed)
        pod = min(plane.feed.state.pods.values(), key=lambda p: p.key)
    stopped_at = list_snapshots(tmp_path / "events.db")[0].seq

    # The tail: facts appended while the plane was down (an agent's report, a new node).
    store = await open_store(str(tmp_path / "events.db"))
    try:
        report = events_pb2.Event(pod_status_reported=events_pb2.PodStatusReported(
            namespace=pod.key[0], pod_name=pod.key[1], node_name=pod.node_name,
            phase="Running", ready=True, restart_count=1))
        registered = events_pb2.Event(node_registered=events_pb2.NodeRegistered(node=node("n3")))
        await store.append([
            NewEvent(node_stream(pod.node_name), report, f"agent:{pod.node_name}", 1.0),
            NewEvent(node_stream("n3"), registered, "user:test", 1.0),
        ])
    finally:
        await store.close()

    async with Plane(plane_config(tmp_path)) as plane:
        assert plane.snapshot_seq == stopped_at > 0
        await wait_until(lambda: len(plane.feed.state.pods) == 3, feed=plane.feed)
        # A copy taken between two awaits: the controller may still append.
        state = copy.deepcopy(plane.feed.state)
        assert state == fold(await plane.store.read(until_seq=state.seq))
        assert state.seq > stopped_at
        assert state.pods[pod.key].ready

    # Snapshots written by other code (another fingerprint), one of them newer
    # than the log's head, are ignored, not trusted.
    for info in list_snapshots(tmp_path / "events.db"):
        foreign_copy(info.path, info.path, info.seq)
        foreign_copy(info.path, info.path.with_name(f"state-{info.seq + 1000:012d}.snap"),
                     info.seq + 1000)
    assert list_snapshots(tmp_path / "events.db")[0].seq > stopped_at + 1000
    async with Plane(plane_config(tmp_path, run_controller=False)) as plane:
        assert plane.snapshot_seq == 0
        assert plane.feed.state == fold(await plane.store.read())
        head = plane.feed.state.seq
    # ... and the stop writes one this code can use on the next start (the
    # foreign ones are pruned then).
    assert [i.seq for i in list_snapshots(tmp_path / "events.db")] == [head]
    async with Plane(plane_config(tmp_path, run_controller=False)) as plane:
        assert plane.snapshot_seq == head
