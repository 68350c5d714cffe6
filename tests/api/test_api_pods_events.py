"""Pods and Events services through a real server: mirror pods, deletion, reading the log."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from conftest import Stubs
from support import agent_fact, daemon_set, node, wait_until

from ctrlplane._proto.v1 import api_pb2, events_pb2, objects_pb2
from ctrlplane.server import Plane


async def _report_static_pod(plane: Plane, node_name: str, pod_name: str) -> None:
    """What an agent appends for a pod from its --pod-manifest-path."""
    mirror = objects_pb2.Pod(api_version="v1", kind="Pod")
    mirror.metadata.name = f"{pod_name}-{node_name}"
    mirror.metadata.namespace = "default"
    mirror.metadata.labels["app"] = pod_name
    mirror.spec.containers.add(name="c", image="nginx")
    mirror.status.phase = "Running"
    payload = events_pb2.Event(
        static_pod_reported=events_pb2.StaticPodReported(
            node_name=node_name, pod=mirror, file=f"/etc/pods/{pod_name}.yaml"
        )
    )
    seq = await plane.store.append(
        [agent_fact(node_name, payload, plane.config.clock.now())]
    )
    await plane.feed.wait_for_seq(seq, 5)


async def test_mirror_pod_cannot_be_deleted(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1"))
    await _report_static_pod(plane, "n1", "web")
    listed = await stubs.pods.List(api_pb2.ListPodsRequest())
    (mirror,) = listed.items
    assert mirror.metadata.name == "web-n1"
    assert mirror.metadata.annotations["ctrlplane.io/static"] == "true"

    head = await plane.store.head()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.pods.Delete(api_pb2.ObjectRef(name="web-n1"))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == (
        "pod web-n1 is a mirror of a static pod on node n1: remove its manifest file "
        "from the node's --pod-manifest-path to delete it"
    )
    assert await plane.store.head() == head


async def test_delete_daemon_pod_is_a_request(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1"))
    await stubs.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=daemon_set("web")))
    await wait_until(lambda: len(plane.feed.state.pods) == 1, message="a pod on n1")
    (pod,) = plane.feed.state.pods.values()

    deleted = await stubs.pods.Delete(api_pb2.ObjectRef(name=pod.key[1]))
    (event,) = await plane.store.read(deleted.seq - 1, limit=1)
    assert event.WhichOneof("kind") == "pod_delete_requested"
    assert event.stream == "daemonset/default/web"

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stubs.pods.Delete(api_pb2.ObjectRef(name="no-such-pod"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_read_and_head(plane: Plane, stubs: Stubs) -> None:
    for name in ("n1", "n2", "n3"):
        await stubs.nodes.Register(node(name))
    head = await stubs.events.Head(api_pb2.Empty())
    assert head.seq == 3

    everything = [e async for e in stubs.events.Read(api_pb2.ReadEventsRequest())]
    assert [e.seq for e in everything] == [1, 2, 3]
    assert everything[0].node_registered.node.metadata.name == "n1"
    assert everything[0].actor == "user:anonymous"

    tail = [e async for e in stubs.events.Read(api_pb2.ReadEventsRequest(after_seq=1, limit=1))]
    assert [e.seq for e in tail] == [2]
    bounded = [e async for e in stubs.events.Read(api_pb2.ReadEventsRequest(until_seq=2))]
    assert [e.seq for e in bounded] == [1, 2]


async def test_follow_catches_up_then_stays_live(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1"))
    call = stubs.events.Follow(api_pb2.ReadEventsRequest())
    first = await call.read()
    assert first.seq == 1

    await stubs.nodes.Register(node("n2"))
    second = await asyncio.wait_for(call.read(), 10)
    assert second.seq == 2
    assert second.node_registered.node.metadata.name == "n2"
    call.cancel()


async def test_follow_with_limit_ends(plane: Plane, stubs: Stubs) -> None:
    for name in ("n1", "n2"):
        await stubs.nodes.Register(node(name))
    got = [e.seq async for e in stubs.events.Follow(api_pb2.ReadEventsRequest(limit=2))]
    assert got == [1, 2]
