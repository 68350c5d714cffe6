"""Nodes service through a real server: registration, kubectl label/taint/cordon rules,
and the controller following node labels."""

from __future__ import annotations

import grpc
import pytest
from conftest import Stubs
from support import daemon_set, node, wait_until

from ctrlplane._proto.v1 import api_pb2, objects_pb2
from ctrlplane.server import Plane


def pod_nodes(plane: Plane) -> set[str]:
    return {pod.node_name for pod in plane.feed.state.pods.values()}


async def test_pods_follow_node_labels(plane: Plane, stubs: Stubs) -> None:
    for name, zone in (("n1", "a"), ("n2", "b"), ("n3", "a")):
        await stubs.nodes.Register(node(name, {"zone": zone}))
    await stubs.daemon_sets.Apply(
        api_pb2.ApplyRequest(daemon_set=daemon_set("agent", node_selector={"zone": "a"}))
    )
    await wait_until(lambda: pod_nodes(plane) == {"n1", "n3"}, message="pods on zone a only")

    await stubs.nodes.Label(api_pb2.LabelRequest(name="n2", set={"zone": "a"}, overwrite=True))
    await wait_until(lambda: pod_nodes(plane) == {"n1", "n2", "n3"}, message="n2 gains a pod")

    await stubs.nodes.Label(api_pb2.LabelRequest(name="n1", remove=["zone"]))
    await wait_until(lambda: pod_nodes(plane) == {"n2", "n3"}, message="n1 loses its pod")

    listed = await stubs.pods.List(api_pb2.ListPodsRequest())
    assert sorted(p.spec.node_name for p in listed.items) == ["n2", "n3"]
    on_n2 = await stubs.pods.List(api_pb2.ListPodsRequest(node_name="n2"))
    assert [p.spec.node_name for p in on_n2.items] == ["n2"]


async def test_label_follows_kubectl(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1", {"disk": "hdd"}))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.nodes.Label(api_pb2.LabelRequest(name="n1", set={"disk": "ssd"}))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == "'disk' already has a value (hdd), and --overwrite is false"

    head = await plane.store.head()
    same = await stubs.nodes.Label(api_pb2.LabelRequest(name="n1", set={"disk": "hdd"}))
    assert dict(same.metadata.labels) == {"disk": "hdd"}
    assert await plane.store.head() == head  # nothing changed, nothing appended

    changed = await stubs.nodes.Label(
        api_pb2.LabelRequest(name="n1", set={"disk": "ssd", "rack": "r1"}, overwrite=True)
    )
    assert dict(changed.metadata.labels) == {"disk": "ssd", "rack": "r1"}
    removed = await stubs.nodes.Label(api_pb2.LabelRequest(name="n1", remove=["rack"]))
    assert dict(removed.metadata.labels) == {"disk": "ssd"}

    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await stubs.nodes.Label(api_pb2.LabelRequest(name="n1", set={"bad key!": "x"}))
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "labels" in (invalid.value.details() or "")

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stubs.nodes.Label(api_pb2.LabelRequest(name="nope", set={"a": "b"}))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_taint_and_cordon(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1"))
    gpu = objects_pb2.Taint(key="gpu", value="yes", effect="NoSchedule")
    tainted = await stubs.nodes.Taint(api_pb2.TaintRequest(name="n1", add=[gpu]))
    assert [(t.key, t.effect) for t in tainted.spec.taints] == [("gpu", "NoSchedule")]

    again = objects_pb2.Taint(key="gpu", value="no", effect="NoSchedule")
    with pytest.raises(grpc.aio.AioRpcError) as clash:
        await stubs.nodes.Taint(api_pb2.TaintRequest(name="n1", add=[again]))
    assert clash.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    replaced = await stubs.nodes.Taint(api_pb2.TaintRequest(name="n1", add=[again], overwrite=True))
    assert [t.value for t in replaced.spec.taints] == ["no"]

    untainted = await stubs.nodes.Taint(
        api_pb2.TaintRequest(name="n1", remove=[objects_pb2.Taint(key="gpu")])
    )
    assert list(untainted.spec.taints) == []

    cordoned = await stubs.nodes.Cordon(api_pb2.CordonRequest(name="n1", unschedulable=True))
    assert cordoned.spec.unschedulable
    uncordoned = await stubs.nodes.Cordon(api_pb2.CordonRequest(name="n1", unschedulable=False))
    assert not uncordoned.spec.unschedulable

    kinds = [e.WhichOneof("kind") for e in await plane.store.read(0)]
    assert kinds == [
        "node_registered",
        "node_taints_changed",
        "node_taints_changed",
        "node_taints_changed",
        "node_cordoned",
        "node_uncordoned",
    ]


async def test_register_again_records_what_changed(plane: Plane, stubs: Stubs) -> None:
    first = await stubs.nodes.Register(node("n1", {"a": "1"}))
    assert first.metadata.name == "n1"
    assert first.status.conditions[0].type == "Ready"
    assert first.status.conditions[0].status == "Unknown"  # no agent connected

    head = await plane.store.head()
    await stubs.nodes.Register(node("n1", {"a": "1"}))
    assert await plane.store.head() == head

    await stubs.nodes.Register(node("n1", {"a": "2"}))
    (last,) = await plane.store.read(head)
    assert last.WhichOneof("kind") == "node_labels_changed"
    assert dict(last.node_labels_changed.labels) == {"a": "2"}

    got = await stubs.nodes.Get(api_pb2.NodeRef(name="n1"))
    assert dict(got.metadata.labels) == {"a": "2"}
    listed = await stubs.nodes.List(api_pb2.ListNodesRequest(label_selector="a in (2,3)"))
    assert [n.metadata.name for n in listed.items] == ["n1"]

    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await stubs.nodes.Register(node("Not_A_Name"))
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata.name" in (invalid.value.details() or "")
