"""DaemonSets service through a real server and a real SQLite log."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from conftest import Stubs
from support import agent_fact, daemon_set, example, manifest, node, wait_until

from ctrlplane._proto.v1 import api_pb2, events_pb2
from ctrlplane.eventlog.base import NewEvent
from ctrlplane.server import Plane


async def apply(stubs: Stubs, ds: Any, **kwargs: Any) -> api_pb2.ApplyResponse:
    response: api_pb2.ApplyResponse = await stubs.daemon_sets.Apply(
        api_pb2.ApplyRequest(daemon_set=ds, **kwargs)
    )
    return response


async def user_facts(plane: Plane) -> int:
    """How many events users appended (the controller's decisions left out)."""
    return sum(1 for e in await plane.store.read(0) if e.actor.startswith("user:"))


async def test_seed_manifest_lifecycle(plane: Plane, stubs: Stubs) -> None:
    seed = example("fluentd-daemonset.yaml")

    created = await apply(stubs, seed)
    assert created.created
    assert created.changed
    assert created.daemon_set.metadata.generation == 1
    # extensions/v1beta1 defaults: OnDelete and a selector from the template labels.
    assert created.daemon_set.spec.update_strategy.type == "OnDelete"
    selector = created.daemon_set.spec.selector.match_labels
    assert dict(selector) == {"app": "logging", "id": "fluentd"}

    got = await stubs.daemon_sets.Get(api_pb2.ObjectRef(name="fluentd"))
    assert got.spec == created.daemon_set.spec
    assert got.metadata.creation_timestamp.endswith("Z")

    again = await apply(stubs, seed)
    assert not again.changed
    assert not again.created
    assert await user_facts(plane) == 1  # nothing appended (the controller may decide)

    changed = example("fluentd-daemonset.yaml")
    changed.spec.template.spec.containers[0].image = "fluentd:2.0"
    second = await apply(stubs, changed)
    assert second.changed
    assert second.daemon_set.metadata.generation == 2

    # Labels only: a new fact, the same generation.
    relabelled = example("fluentd-daemonset.yaml")
    relabelled.spec.template.spec.containers[0].image = "fluentd:2.0"
    relabelled.metadata.labels["team"] = "logs"
    third = await apply(stubs, relabelled)
    assert third.changed
    assert third.daemon_set.metadata.generation == 2

    listed = await stubs.daemon_sets.List(api_pb2.ListDaemonSetsRequest(label_selector="team=logs"))
    assert [d.metadata.name for d in listed.items] == ["fluentd"]
    none = await stubs.daemon_sets.List(api_pb2.ListDaemonSetsRequest(label_selector="team!=logs"))
    assert list(none.items) == []

    await stubs.daemon_sets.Delete(api_pb2.ObjectRef(name="fluentd"))
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stubs.daemon_sets.Get(api_pb2.ObjectRef(name="fluentd"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "fluentd" in (missing.value.details() or "")

    events = await plane.store.read(0)
    applied = [e for e in events if e.WhichOneof("kind") == "daemon_set_applied"]
    assert [e.actor for e in applied] == ["user:anonymous"] * 3


def _invalid(path_to_break: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    spec = data["spec"]
    if path_to_break == "name":
        data["metadata"]["name"] = "Web_Server"
    elif path_to_break == "selector":
        spec["selector"] = {"matchLabels": {"app": "other"}}
    elif path_to_break == "containers":
        spec["template"]["spec"]["containers"].append({"name": "c", "image": "nginx"})
    elif path_to_break == "budget":
        spec["updateStrategy"] = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0},
        }
    return data


@pytest.mark.parametrize(
    ("broken", "path"),
    [
        pytest.param("name", "metadata.name", id="bad-name"),
        pytest.param("selector", "spec.template.metadata.labels", id="selector-mismatch"),
        pytest.param(
            "containers", "spec.template.spec.containers[1].name", id="duplicate-container"
        ),
        pytest.param("budget", "spec.updateStrategy.rollingUpdate", id="zero-budget"),
    ],
)
async def test_invalid_manifest_names_the_field(
    plane: Plane, stubs: Stubs, broken: str, path: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as rejected:
        await apply(stubs, manifest(_invalid(broken)))
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert path in (rejected.value.details() or "")
    assert await plane.store.head() == 0  # never reaches the log


@pytest.mark.parametrize(
    ("api_version", "allowed"),
    [
        pytest.param("apps/v1", False, id="apps-v1-immutable"),
        pytest.param("extensions/v1beta1", True, id="extensions-may-change"),
    ],
)
async def test_selector_is_immutable_on_update(
    plane: Plane, stubs: Stubs, api_version: str, allowed: bool
) -> None:
    await apply(stubs, daemon_set("web"))
    # The version the client wrote decides, not apps/v1 that the log records.
    moved = daemon_set("web", labels={"app": "web", "tier": "edge"})
    moved.api_version = api_version
    if allowed:
        updated = await apply(stubs, moved)
        assert dict(updated.daemon_set.spec.selector.match_labels) == {"app": "web", "tier": "edge"}
        return
    with pytest.raises(grpc.aio.AioRpcError) as rejected:
        await apply(stubs, moved)
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.selector" in (rejected.value.details() or "")
    assert "immutable" in (rejected.value.details() or "")
    assert await user_facts(plane) == 1


async def test_expected_generation_guards_apply(plane: Plane, stubs: Stubs) -> None:
    await apply(stubs, daemon_set("web"), expected_generation=-1)
    with pytest.raises(grpc.aio.AioRpcError) as exists:
        await apply(stubs, daemon_set("web", image="nginx:2"), expected_generation=-1)
    assert exists.value.code() == grpc.StatusCode.ABORTED

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await apply(stubs, daemon_set("web", image="nginx:2"), expected_generation=7)
    assert stale.value.code() == grpc.StatusCode.ABORTED
    assert "generation 1" in (stale.value.details() or "")

    ok = await apply(stubs, daemon_set("web", image="nginx:2"), expected_generation=1)
    assert ok.daemon_set.metadata.generation == 2


async def test_history_and_undo(plane: Plane, stubs: Stubs) -> None:
    for image in ("v1", "v2", "v3"):
        await apply(stubs, daemon_set("web", image=f"nginx:{image}"), change_cause=f"to {image}")
    ref = api_pb2.ObjectRef(name="web")
    history = await stubs.daemon_sets.History(ref)
    assert [r.revision for r in history.revisions] == [1, 2, 3]
    assert [r.change_cause for r in history.revisions] == ["to v1", "to v2", "to v3"]
    assert history.current_revision == 3

    undone = await stubs.daemon_sets.Undo(api_pb2.UndoRequest(ref=ref))
    assert not undone.skipped
    assert undone.revision == 4
    assert undone.daemon_set.spec.template.spec.containers[0].image == "nginx:v2"

    skipped = await stubs.daemon_sets.Undo(api_pb2.UndoRequest(ref=ref, to_revision=4))
    assert skipped.skipped
    assert skipped.revision == 4

    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stubs.daemon_sets.Undo(api_pb2.UndoRequest(ref=ref, to_revision=99))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    kinds = [e.WhichOneof("kind") for e in await plane.store.read(0)]
    assert kinds.count("daemon_set_rolled_back") == 1


async def test_plan_lists_node_changes_and_generation(plane: Plane, stubs: Stubs) -> None:
    for name, disk in (("n1", "ssd"), ("n2", "hdd"), ("n3", "ssd")):
        await stubs.nodes.Register(node(name, {"disk": disk}))
    planned = await stubs.daemon_sets.Plan(
        api_pb2.ApplyRequest(daemon_set=daemon_set("web", node_selector={"disk": "ssd"}))
    )
    assert planned.created
    assert planned.changed
    assert planned.generation == 0
    actions = [(c.node_name, c.action) for c in planned.changes]
    assert actions == [("n1", "create"), ("n3", "create")]
    assert "+  selector:" in planned.diff or "+    matchLabels:" in planned.diff
    head = await plane.store.head()
    assert head == 3  # a plan appends nothing

    await apply(stubs, daemon_set("web", node_selector={"disk": "ssd"}))
    await wait_until(lambda: len(plane.feed.state.pods) == 2, message="pods on n1 and n3")

    replan = await stubs.daemon_sets.Plan(
        api_pb2.ApplyRequest(daemon_set=daemon_set("web", image="nginx:2", node_selector={}))
    )
    assert replan.generation == 1
    assert replan.changed
    assert not replan.created
    by_node = {c.node_name: c.action for c in replan.changes}
    assert by_node == {"n1": "replace", "n2": "create", "n3": "replace"}
    assert "-        image: busybox:1" in replan.diff
    assert "+        image: nginx:2" in replan.diff


async def _report_ready(plane: Plane, pod_name: str, node_name: str) -> None:
    """What an agent would append when the pod runs and is ready."""
    payload = events_pb2.Event(
        pod_status_reported=events_pb2.PodStatusReported(
            namespace="default", pod_name=pod_name, node_name=node_name, phase="Running", ready=True
        )
    )
    await plane.store.append(
        [agent_fact(node_name, payload, plane.config.clock.now())]
    )


async def test_watch_rollout_follows_to_done(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1"))
    await apply(stubs, daemon_set("web"))
    await wait_until(lambda: len(plane.feed.state.pods) == 1, message="a pod on n1")
    ref = api_pb2.ObjectRef(name="web")

    once = [s async for s in stubs.daemon_sets.WatchRollout(api_pb2.WatchRolloutRequest(ref=ref))]
    assert [s.message for s in once] == [
        'Waiting for daemon set "web" rollout to finish: 0 of 1 updated pods are available...\n'
    ]

    call = stubs.daemon_sets.WatchRollout(api_pb2.WatchRolloutRequest(ref=ref, watch=True))
    first = await call.read()
    assert not first.done
    (pod,) = plane.feed.state.pods.values()
    await _report_ready(plane, pod.key[1], "n1")
    rest = []
    while (message := await call.read()) is not grpc.aio.EOF:
        rest.append(message)
    assert rest[-1].done
    assert not rest[-1].failed
    assert rest[-1].message == 'daemon set "web" successfully rolled out\n'


async def test_watch_rollout_refuses_on_delete(plane: Plane, stubs: Stubs) -> None:
    await apply(stubs, daemon_set("web", strategy="OnDelete"))
    call = stubs.daemon_sets.WatchRollout(
        api_pb2.WatchRolloutRequest(ref=api_pb2.ObjectRef(name="web"))
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_pause_resume_restart(plane: Plane, stubs: Stubs) -> None:
    await apply(stubs, daemon_set("web"))
    ref = api_pb2.ObjectRef(name="web")
    paused = await stubs.daemon_sets.Pause(ref)
    assert paused.status.paused
    await stubs.daemon_sets.Pause(ref)  # already paused: nothing appended

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.daemon_sets.Restart(ref)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    resumed = await stubs.daemon_sets.Resume(ref)
    assert not resumed.status.paused
    restarted = await stubs.daemon_sets.Restart(ref)
    assert restarted.changed
    assert restarted.daemon_set.metadata.generation == 2
    annotations = restarted.daemon_set.spec.template.metadata.annotations
    assert annotations["kubectl.kubernetes.io/restartedAt"].endswith("Z")
    kinds = [e.WhichOneof("kind") for e in await plane.store.read(0)]
    assert kinds.count("daemon_set_paused") == 1
    assert kinds.count("daemon_set_resumed") == 1


async def test_actor_comes_from_metadata(plane: Plane, stubs: Stubs) -> None:
    await stubs.daemon_sets.Apply(
        api_pb2.ApplyRequest(daemon_set=daemon_set("web")),
        metadata=(("x-ctrlplane-user", "alice"),),
    )
    (event,) = await plane.store.read(0, limit=1)
    assert event.actor == "user:alice"


async def test_watch_rollout_reports_failure(plane: Plane, stubs: Stubs) -> None:
    await stubs.nodes.Register(node("n1"))
    created = await apply(stubs, daemon_set("web"))
    call = stubs.daemon_sets.WatchRollout(
        api_pb2.WatchRolloutRequest(ref=api_pb2.ObjectRef(name="web"), watch=True)
    )
    first = await call.read()
    assert not first.done
    failed = events_pb2.Event(
        rollout_failed=events_pb2.RolloutFailed(
            namespace="default",
            name="web",
            revision_hash=created.daemon_set.status.current_revision_hash,
            revision=1,
            reason="ProgressDeadlineExceeded",
            message="no progress for 10 s",
        )
    )
    # What the controller appends when the progress deadline passes, written
    # by the test (not "controller": the decision check would rightly flag a
    # decision today's reconcile does not make).
    await plane.store.append(
        [NewEvent("daemonset/default/web", failed, "test:fixture", plane.config.clock.now())]
    )
    messages = [first]
    while (message := await call.read()) is not grpc.aio.EOF:
        messages.append(message)
    assert messages[-1].done
    assert messages[-1].failed
    assert messages[-1].message == 'daemon set "web" rollout failed: no progress for 10 s\n'


async def test_watch_rollout_done_when_the_plane_recorded_it_complete(
    plane: Plane, stubs: Stubs
) -> None:
    for name in ("n1", "n2"):
        await stubs.nodes.Register(node(name))
    await apply(stubs, daemon_set("web"))
    await wait_until(lambda: len(plane.feed.state.pods) == 2, message="a pod on each node")
    for pod in list(plane.feed.state.pods.values()):
        await _report_ready(plane, pod.key[1], pod.node_name)
    ds = plane.feed.state.daemon_sets[("default", "web")]
    await wait_until(lambda: ds.rollout_complete, feed=plane.feed, message="RolloutCompleted")
    # n2's lease runs out: its pod is no longer available, so kubectl's
    # counters fall short for good, but the revision was rolled out.
    lost = events_pb2.Event(node_lost=events_pb2.NodeLost(node_name="n2"))
    seq = await plane.store.append(
        [NewEvent("node/n2", lost, "controller", plane.config.clock.now())]
    )
    await plane.feed.wait_for_seq(seq, timeout=10)

    call = stubs.daemon_sets.WatchRollout(
        api_pb2.WatchRolloutRequest(ref=api_pb2.ObjectRef(name="web"), watch=True)
    )
    messages = []
    while (message := await call.read()) is not grpc.aio.EOF:
        messages.append(message)
    (status,) = messages
    assert status.done
    assert not status.failed
    assert status.daemon_set.status.number_available == 1
    assert status.message == (
        'daemon set "web" successfully rolled out '
        "(revision 1 recorded complete; 1 of 2 pods available now)\n"
    )
