"""Bearer tokens with roles, through a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from conftest import Stubs, plane_config, stubs_for
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import daemon_set, make_pki, node

from ctrlplane._proto.v1 import api_pb2
from ctrlplane.api.auth import PermissionDenied, TokenTable, authorize_node
from ctrlplane.api.context import PlaneContext
from ctrlplane.server import Plane

TOKENS = TokenTable.parse(["# token,user,role", "s3cret,alice,admin", "look,bob,viewer"])


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[tuple[Plane, grpc.aio.Channel]]:
    async with Plane(plane_config(tmp_path, tokens=TOKENS)) as plane, grpc.aio.insecure_channel(
        plane.address
    ) as channel:
        yield plane, channel


async def test_roles_decide_what_a_caller_may_do(
    secured: tuple[Plane, grpc.aio.Channel],
) -> None:
    plane, channel = secured
    stubs: Stubs = stubs_for(channel)
    request = api_pb2.ApplyRequest(daemon_set=daemon_set("web"))

    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stubs.daemon_sets.Apply(request)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stubs.daemon_sets.Apply(request, metadata=bearer("guess"))
    assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as viewer:
        await stubs.daemon_sets.Apply(request, metadata=bearer("look"))
    assert viewer.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await plane.store.head() == 0

    # The token names the actor; the x-ctrlplane-user metadata cannot override it.
    metadata = (*bearer("s3cret"), ("x-ctrlplane-user", "mallory"))
    await stubs.daemon_sets.Apply(request, metadata=metadata)
    (event,) = await plane.store.read(0, limit=1)
    assert event.actor == "user:alice"

    listed = await stubs.daemon_sets.List(api_pb2.ListDaemonSetsRequest(), metadata=bearer("look"))
    assert [d.metadata.name for d in listed.items] == ["web"]
    with pytest.raises(grpc.aio.AioRpcError) as stream:
        await stubs.events.Follow(api_pb2.ReadEventsRequest()).read()
    assert stream.value.code() == grpc.StatusCode.UNAUTHENTICATED

    health = health_pb2_grpc.HealthStub(channel)
    response = await health.Check(health_pb2.HealthCheckRequest())  # open to probes
    assert response.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        pytest.param(["tok,alice"], "expected token,user,role", id="missing-field"),
        pytest.param(["tok,alice,root"], "role 'root'", id="unknown-role"),
        pytest.param(["tok,a,admin", "tok,b,viewer"], "duplicate token", id="duplicate"),
    ],
)
def test_token_file_errors(lines: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        TokenTable.parse(lines, "tokens.csv")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"), ["alice"])


def speaks_for(ctx: PlaneContext, server: grpc.aio.Server) -> str:
    """A one-method service that asks auth.authorize_node, as Agent.Connect does."""

    async def check(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            authorize_node(context, request.decode(), mtls=ctx.mtls)
        except PermissionDenied as denied:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(denied))
        return b"ok"

    handler = grpc.unary_unary_rpc_method_handler(check)
    generic = grpc.method_handlers_generic_handler("test.Node", {"Check": handler})
    server.add_generic_rpc_handlers((generic,))
    return "test.Node"


async def test_mutual_tls_names_the_caller(tmp_path: Path, certificates: Path) -> None:
    pki = certificates
    config = plane_config(
        tmp_path,
        tls_cert=pki / "plane.pem",
        tls_key=pki / "plane.key",
        client_ca=pki / "ca.pem",
        services=[speaks_for],
    )
    async with Plane(config) as plane:
        ca = (pki / "ca.pem").read_bytes()
        with_cert = grpc.ssl_channel_credentials(
            ca, (pki / "alice.key").read_bytes(), (pki / "alice.pem").read_bytes()
        )
        async with grpc.aio.secure_channel(plane.address, with_cert) as channel:
            stubs = stubs_for(channel)
            await stubs.nodes.Register(node("n1"))
            (event,) = await plane.store.read(0)
            assert event.actor == "user:alice"

            check = channel.unary_unary("/test.Node/Check")
            assert await check(b"alice") == b"ok"
            with pytest.raises(grpc.aio.AioRpcError) as other:
                await check(b"node-2")
            assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED

        without_cert = grpc.ssl_channel_credentials(ca)
        async with grpc.aio.secure_channel(plane.address, without_cert) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stubs_for(channel).nodes.Get(api_pb2.NodeRef(name="n1"), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
