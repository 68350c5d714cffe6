"""The plane as a whole: serving, health, reflection, graceful stop, restart, the CLI."""

from __future__ import annotations

import asyncio
import gc
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

from ctrlplane._proto.v1 import api_pb2
from ctrlplane.api.context import PlaneContext
from ctrlplane.eventlog.memory import MemoryEventStore
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
