"""Shared fixtures: a real plane on a SQLite file in tmp_path, a channel, stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from ctrlplane._proto.v1 import api_pb2_grpc
from ctrlplane.replay import CheckReport, check_log
from ctrlplane.replay.sources import open_source
from ctrlplane.server import Plane, PlaneConfig

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def plane_config(tmp_path: Path, **overrides: object) -> PlaneConfig:
    """The config tests use: a fresh SQLite file, a free port, short leases."""
    values: dict[str, object] = {
        "db_path": tmp_path / "events.db",
        "listen": "127.0.0.1:0",
        "lease_seconds": 1.0,
        "heartbeat_interval": 0.2,
        "grace": 0.2,
        "strict": True,
    }
    values.update(overrides)
    return PlaneConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[Plane]:
    config = plane_config(tmp_path)
    async with Plane(config) as started:
        yield started
    if started.failure is not None:  # a background task (feed, controller, hub) failed
        raise started.failure
    # Every log a plane wrote in a test passes the decision check: today's
    # reconcile reproduces each recorded decision (issue 6, `dsctl replay --check`).
    report = await check_db(config.db_path)
    assert report.ok, f"the plane's log fails the decision check:\n{report.text()}"


async def check_db(db_path: object) -> CheckReport:
    """The decision check over a (stopped) plane's SQLite log, opened read-only."""
    source = await open_source(str(db_path))
    try:
        return await check_log(source)
    finally:
        await source.close()


@pytest.fixture
async def channel(plane: Plane) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(plane.address) as opened:
        yield opened


@dataclass
class Stubs:
    daemon_sets: api_pb2_grpc.DaemonSetsStub
    nodes: api_pb2_grpc.NodesStub
    pods: api_pb2_grpc.PodsStub
    events: api_pb2_grpc.EventsStub


def stubs_for(channel: grpc.aio.Channel) -> Stubs:
    return Stubs(
        daemon_sets=api_pb2_grpc.DaemonSetsStub(channel),  # type: ignore[no-untyped-call]
        nodes=api_pb2_grpc.NodesStub(channel),  # type: ignore[no-untyped-call]
        pods=api_pb2_grpc.PodsStub(channel),  # type: ignore[no-untyped-call]
        events=api_pb2_grpc.EventsStub(channel),  # type: ignore[no-untyped-call]
    )


@pytest.fixture
def stubs(channel: grpc.aio.Channel) -> Stubs:
    return stubs_for(channel)
