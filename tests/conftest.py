"""Shared fixtures: a real plane on a SQLite file in tmp_path, a channel, stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from ctrlplane._proto.v1 import api_pb2_grpc
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
    async with Plane(plane_config(tmp_path)) as started:
        yield started
    if started.failure is not None:  # a background task (feed, controller, hub) failed
        raise started.failure


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
