"""Static pods end to end (issue 7): a real agent runs pods from a manifest directory.

A manifest dropped in starts a process and its mirror appears; an edit
replaces the process; dotfiles and other extensions are ignored; a malformed
file is reported and the others keep running; with the plane stopped the
pods keep running (and a new file still starts); with the plane back the
mirrors are back; removing a file stops the process and drops the mirror;
the API refuses to delete a mirror.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from agents_support import (
    AgentProcs,
    agent_processes,
    pid_alive,
    pods_of,
    sleeper,
)
from conftest import plane_config, stubs_for
from support import wait_for_event, wait_until

from ctrlplane._proto.v1 import api_pb2
from ctrlplane.domain.state import ClusterState
from ctrlplane.server import Plane

NODE = "node-s"


@pytest.fixture
def agent_procs(tmp_path: Path) -> Iterator[AgentProcs]:
    with agent_processes(tmp_path) as procs:
        yield procs


def manifest(name: str, greeting: str = "hi") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [sleeper(env=[{"name": "GREETING", "value": greeting}])]},
        }
    )


def mirror(state: ClusterState, name: str) -> bool:
    pod = state.pods.get(("default", f"{name}-{NODE}"))
    return pod is not None and pod.static and pod.node_name == NODE


async def test_static_pods_follow_the_manifest_directory(
    tmp_path: Path, agent_procs: AgentProcs
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "web.yaml").write_text(manifest("web"))
    (manifests / ".hidden.yaml").write_text(manifest("hidden"))
    (manifests / "notes.txt").write_text(manifest("notes"))
    data = agent_procs.data_dir(NODE)

    def pid(name: str) -> int:
        return pods_of(data).get(f"{name}-{NODE}", 0)

    config = plane_config(tmp_path, lease_seconds=5.0, heartbeat_interval=0.5)
    async with Plane(config) as plane:
        port, state = plane.port, plane.feed.state
        agent_procs.start(plane.address, NODE, "--pod-manifest-path", str(manifests))
        await wait_until(lambda: mirror(state, "web") and pid("web") > 0, 20, feed=plane.feed)
        assert pid_alive(pid("web"))
        first = pid("web")

        # The API refuses to delete a mirror, and says where the file is.
        async with grpc.aio.insecure_channel(plane.address) as channel:
            ref = api_pb2.ObjectRef(namespace="default", name=f"web-{NODE}")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stubs_for(channel).pods.Delete(ref)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "manifest" in (refused.value.details() or "")

        (manifests / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [")
        rejected = await wait_for_event(
            plane.store, lambda e: e.HasField("static_pod_manifest_rejected"), 20
        )
        assert rejected.static_pod_manifest_rejected.file.endswith("bad.yaml")
        assert rejected.stream == f"node/{NODE}"

        (manifests / "web.yaml").write_text(manifest("web", greeting="hello"))
        await wait_until(lambda: pid("web") not in (0, first), 20, "not replaced")
        await wait_until(lambda: not pid_alive(first), 20)
        assert mirror(state, "web")

    # The plane is down: pods keep running, and a new file still starts.
    (manifests / "db.json").write_text(manifest("db"))
    await wait_until(lambda: pid("db") > 0 and pid_alive(pid("db")), 20)
    assert pid_alive(pid("web"))

    config = plane_config(
        tmp_path, lease_seconds=5.0, heartbeat_interval=0.5, listen=f"127.0.0.1:{port}"
    )
    async with Plane(config) as plane:
        state = plane.feed.state
        await wait_until(lambda: mirror(state, "db") and mirror(state, "web"), 20, feed=plane.feed)
        (manifests / "web.yaml").unlink()
        web = pid("web")
        await wait_until(lambda: not mirror(state, "web"), 20, feed=plane.feed)
        await wait_until(lambda: not pid_alive(web), 20)
        assert mirror(state, "db")
        assert not any(p.key[1].startswith(("hidden", "notes")) for p in state.pods.values())
        await wait_until(lambda: set(pods_of(data)) == {f"db-{NODE}"}, 20)  # sandbox gone too
