"""Record golden logs from real runs: a Plane on SQLite, simulated agents over gRPC.

Each scenario drives a real plane through its public API (DaemonSets.Apply,
Undo, Nodes.Label) with real `Agent`s (simulated runtime) connected over
127.0.0.1, waits until the cluster has settled, and returns the log as it
was then. `tests/replay/test_golden.py --update-golden` (or
scripts/record-golden) writes them to tests/golden/.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from agents.agent import Agent, AgentConfig
from agents.runtime.simulated import SimulatedRuntime
from ctrlplane._proto.v1 import api_pb2, api_pb2_grpc, events_pb2, objects_pb2
from ctrlplane.domain.manifests import load_manifests
from ctrlplane.domain.state import ClusterState
from ctrlplane.server import Plane, PlaneConfig

REPO = Path(__file__).resolve().parents[2]
AGENT_MAIN = "import sys; from agents.main import main; sys.exit(main(sys.argv[1:]))"
SEED_FLUENTD = REPO / "examples" / "fluentd-daemonset.yaml"

WEB = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: {unavailable}, maxSurge: {surge}}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      nodeSelector: {{disk: ssd}}
      containers:
      - name: web
        image: web:{version}
        command: [sleep, infinity]
"""


def web(version: str, *, surge: int = 0, unavailable: int = 1) -> objects_pb2.DaemonSet:
    text = WEB.format(version=version, surge=surge, unavailable=unavailable)
    obj = load_manifests(text, "web.yaml")[0].obj
    assert isinstance(obj, objects_pb2.DaemonSet)
    return obj


@dataclass
class Rig:
    plane: Plane
    channel: grpc.aio.Channel
    data_dir: Path
    agents: dict[str, tuple[Agent, asyncio.Task[None]]] = field(default_factory=dict)
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    @property
    def state(self) -> ClusterState:
        return self.plane.feed.state

    @property
    def daemon_sets(self) -> api_pb2_grpc.DaemonSetsStub:
        return api_pb2_grpc.DaemonSetsStub(self.channel)  # type: ignore[no-untyped-call]

    @property
    def nodes(self) -> api_pb2_grpc.NodesStub:
        return api_pb2_grpc.NodesStub(self.channel)  # type: ignore[no-untyped-call]

    async def start_agents(self, labels: dict[str, dict[str, str]]) -> None:
        for i, (name, node_labels) in enumerate(sorted(labels.items())):
            agent = Agent(AgentConfig(node_name=name, labels=node_labels),
                          SimulatedRuntime(), self.channel, rng=random.Random(i))
            self.agents[name] = (agent, asyncio.create_task(agent.run()))
        async with asyncio.timeout(10):
            await asyncio.gather(*(a.connected.wait() for a, _ in self.agents.values()))
        await self.until(lambda: all(
            n in self.state.nodes and self.state.nodes[n].connected for n in labels))

    async def start_process_agent(self, name: str, labels: dict[str, str]) -> None:
        """`ctrlplane agent --runtime simulated` as a real child process (so it can die)."""
        self.processes[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-c", AGENT_MAIN, "--server", self.plane.address,
            "--node-name", name, "--labels", ",".join(f"{k}={v}" for k, v in labels.items()),
            "--runtime", "simulated", "--data-dir", str(self.data_dir / name),
            "--log-level", "WARNING",
        )
        await self.until(lambda: name in self.state.nodes and self.state.nodes[name].connected)

    async def kill_process_agent(self, name: str) -> None:
        """SIGKILL: no goodbye on the stream, so the plane's lease runs out (NodeLost)."""
        process = self.processes.pop(name)
        process.kill()
        await process.wait()

    async def stop_agents(self) -> None:
        for process in self.processes.values():
            process.kill()
            await process.wait()
        self.processes.clear()
        for agent, _ in self.agents.values():
            agent.stop()
        await asyncio.gather(*(t for _, t in self.agents.values()), return_exceptions=True)
        self.agents.clear()

    async def apply(self, ds: objects_pb2.DaemonSet, cause: str = "") -> None:
        await self.daemon_sets.Apply(api_pb2.ApplyRequest(daemon_set=ds, change_cause=cause))

    async def until(self, predicate: Callable[[], bool], within: float = 15.0) -> None:
        await self.plane.feed.wait_for(predicate, within)

    def settled(self) -> bool:
        """Every set's rollout complete and every pod off lost nodes running and ready."""
        state = self.state
        if not state.daemon_sets:
            return False
        for ds in state.daemon_sets.values():
            if ds.deleted:
                if ds.pod_count:
                    return False
                continue
            if not ds.rollout_complete:
                return False
        for pod in state.pods.values():
            node = state.nodes.get(pod.node_name)
            if node is None or node.lost:
                continue  # nobody there to report; the rollout leaves lost nodes out
            owner = state.daemon_sets.get(pod.owner) if pod.owner else None
            if not (pod.phase == "Running" and pod.ready):
                return False
            if owner is not None and pod.revision_hash != owner.template_hash:
                return False
        return True

    def pods_on(self, node: str, ds: str) -> int:
        return sum(1 for p in self.state.pods.values()
                   if p.node_name == node and p.owner == ("default", ds))


Scenario = Callable[[Rig], Awaitable[None]]

THREE = {"node-1": {"disk": "ssd", "zone": "a"}, "node-2": {"disk": "ssd", "zone": "b"},
         "node-3": {"disk": "ssd", "zone": "a"}}


async def seed_fluentd(rig: Rig) -> None:
    """The seed's fluentd manifest (extensions/v1beta1, unchanged) on three nodes."""
    await rig.start_agents(THREE)
    obj = load_manifests(SEED_FLUENTD.read_text(), str(SEED_FLUENTD))[0].obj
    assert isinstance(obj, objects_pb2.DaemonSet)
    await rig.apply(obj)
    await rig.until(lambda: rig.settled() and len(rig.state.pods) == 3)


async def node_relabel(rig: Rig) -> None:
    """A nodeSelector set; node-3 relabelled away (its pod goes), then back (a new pod)."""
    await rig.start_agents(THREE)
    await rig.apply(web("v1"))
    await rig.until(lambda: rig.settled() and len(rig.state.pods) == 3)
    await rig.nodes.Label(api_pb2.LabelRequest(name="node-3", set={"disk": "hdd"},
                                               overwrite=True))
    await rig.until(lambda: rig.pods_on("node-3", "web") == 0 and rig.settled())
    await rig.nodes.Label(api_pb2.LabelRequest(name="node-3", set={"disk": "ssd"},
                                               overwrite=True))
    await rig.until(lambda: rig.pods_on("node-3", "web") == 1 and rig.settled())


async def rolling_update_surge(rig: Rig) -> None:
    """v1 everywhere, then v2 with maxSurge 1 / maxUnavailable 0: new beside old."""
    await rig.start_agents(THREE)
    await rig.apply(web("v1", surge=1, unavailable=0), cause="v1")
    await rig.until(lambda: rig.settled() and len(rig.state.pods) == 3)
    await rig.apply(web("v2", surge=1, unavailable=0), cause="v2")
    await rig.until(lambda: rig.settled() and rig.state.daemon_sets[("default", "web")].revision
                    == 2)


async def undo(rig: Rig) -> None:
    """v1, v2, then `rollout undo`: revision 3 equal to revision 1, rolled out."""
    await rig.start_agents(THREE)
    await rig.apply(web("v1"), cause="v1")
    await rig.until(lambda: rig.settled() and len(rig.state.pods) == 3)
    await rig.apply(web("v2"), cause="v2")
    await rig.until(lambda: rig.settled() and rig.state.daemon_sets[("default", "web")].revision
                    == 2)
    await rig.daemon_sets.Undo(api_pb2.UndoRequest(ref=api_pb2.ObjectRef(name="web")))
    await rig.until(lambda: rig.settled() and rig.state.daemon_sets[("default", "web")].revision
                    == 3)


async def lost_node(rig: Rig) -> None:
    """node-3's agent is SIGKILLed (NodeLost after the lease); a rolling update still completes."""
    await rig.start_agents({k: v for k, v in THREE.items() if k != "node-3"})
    await rig.start_process_agent("node-3", THREE["node-3"])
    await rig.apply(web("v1"), cause="v1")
    await rig.until(lambda: rig.settled() and len(rig.state.pods) == 3)
    await rig.kill_process_agent("node-3")
    await rig.until(lambda: rig.state.nodes["node-3"].lost)
    await rig.apply(web("v2"), cause="v2")
    await rig.until(lambda: rig.settled() and rig.state.daemon_sets[("default", "web")].revision
                    == 2)


SCENARIOS: dict[str, Scenario] = {
    "seed-fluentd": seed_fluentd,
    "node-relabel": node_relabel,
    "rolling-update-surge": rolling_update_surge,
    "undo": undo,
    "lost-node": lost_node,
}


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    config = PlaneConfig(db_path=tmp_path / "events.db", listen="127.0.0.1:0",
                         lease_seconds=1.0, heartbeat_interval=0.2, grace=0.2, strict=True)
    async with Plane(config) as plane, grpc.aio.insecure_channel(plane.address) as channel:
        r = Rig(plane, channel, tmp_path)
        try:
            yield r
        finally:
            await r.stop_agents()


async def record(name: str, tmp_path: Path) -> list[events_pb2.Event]:
    """Run one scenario; the log up to the moment it settled."""
    async with rig(tmp_path) as r:
        await SCENARIOS[name](r)
        head = r.state.seq
        return await r.plane.store.read(0, until_seq=head)
