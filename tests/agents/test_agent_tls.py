"""Agents over mutual TLS: the certificate's CN names the only node it may speak for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from agents_support import AgentProcs, agent_processes
from conftest import plane_config
from support import make_pki, wait_until

from ctrlplane._proto.v1 import agent_pb2, agent_pb2_grpc
from ctrlplane.server import Plane


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"), ["node-t"])


@pytest.fixture
def agent_procs(tmp_path: Path) -> Iterator[AgentProcs]:
    with agent_processes(tmp_path) as procs:
        yield procs


async def test_an_agent_speaks_for_the_node_its_certificate_names(
    tmp_path: Path, pki: Path, agent_procs: AgentProcs
) -> None:
    config = plane_config(
        tmp_path, tls_cert=pki / "plane.pem", tls_key=pki / "plane.key", client_ca=pki / "ca.pem"
    )
    async with Plane(config) as plane:
        tls = ["--ca", str(pki / "ca.pem"), "--cert", str(pki / "node-t.pem")]
        agent_procs.start(plane.address, "node-t", *tls, "--key", str(pki / "node-t.key"))
        state = plane.feed.state
        await wait_until(
            lambda: "node-t" in state.nodes and state.nodes["node-t"].connected,
            20,
            feed=plane.feed,
        )

        credentials = grpc.ssl_channel_credentials(
            (pki / "ca.pem").read_bytes(),
            (pki / "node-t.key").read_bytes(),
            (pki / "node-t.pem").read_bytes(),
        )
        async with grpc.aio.secure_channel(plane.address, credentials) as channel:
            call = agent_pb2_grpc.AgentStub(channel).Connect()  # type: ignore[no-untyped-call]
            await call.write(agent_pb2.AgentMessage(hello=agent_pb2.Hello(node_name="node-u")))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call.read()
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "node-u" in (refused.value.details() or "")
        assert "node-u" not in state.nodes
