"""The rolling-update planner: given a fleet on v1, v2 applied, at this time, these decisions."""

from __future__ import annotations

import pytest

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set
from ctrlplane.domain.status import daemon_set_status

from .summary import summary

KEY = ("default", "agent")


def fleet(n: int, v1: objects_pb2.DaemonSet | None = None) -> Scenario:
    s = Scenario()
    for i in range(n):
        s.register(f"n{i}")
    ds = v1 if v1 is not None else daemon_set("agent")
    s.apply(ds)
    s.step("agent")
    s.ready_all()
    s.advance(ds.spec.min_ready_seconds)
    s.step("agent")
    assert s.state.daemon_sets[KEY].rollout_complete
    return s


def v2(**kw: object) -> objects_pb2.DaemonSet:
    return daemon_set("agent", image="example/agent:2", **kw)  # type: ignore[arg-type]


def replaced(decisions: list[tuple[str, ...]]) -> list[str]:
    return [d[1] for d in decisions if d[0] == "delete"]


@pytest.mark.parametrize(
    ("nodes", "max_unavailable", "expected"),
    [
        pytest.param(10, "1", 1, id="int-1"),
        pytest.param(10, "3", 3, id="int-3"),
        pytest.param(10, "25%", 3, id="percent-rounds-up"),
        pytest.param(4, "10%", 1, id="small-percent-is-at-least-one"),
        pytest.param(10, "100%", 10, id="all-at-once"),
    ],
)
def test_max_unavailable(nodes: int, max_unavailable: str, expected: int) -> None:
    s = fleet(nodes)
    s.apply(v2(max_unavailable=max_unavailable))
    decisions = summary(s.step("agent").decisions)
    assert len(replaced(decisions)) == expected
    assert decisions[:2] == [("delete", "n0", "RollingUpdate"), ("schedule", "n0", "RollingUpdate")]
    # budget used: nothing more until a new pod is available
    assert s.reconcile("agent").decisions == []


def test_rollout_proceeds_as_pods_become_available_and_completes() -> None:
    s = fleet(5)
    s.apply(v2(max_unavailable="2"))
    waves = []
    for _ in range(10):
        decisions = summary(s.step("agent").decisions)
        if decisions == [("completed", "2")]:
            break
        waves.append(sorted(set(replaced(decisions))))
        s.advance(1).ready_all()
    assert waves == [["n0", "n1"], ["n2", "n3"], ["n4"]]
    status = daemon_set_status(s.state, KEY, s.now)
    assert status.updated_number_scheduled == 5
    assert status.number_available == 5


def test_unavailable_old_pods_are_replaced_first_without_budget() -> None:
    s = fleet(4)
    s.report(s.pod_on("agent", "n2"), ready=False)
    s.report(s.pod_on("agent", "n3"), ready=False)
    s.apply(v2(max_unavailable="1"))
    decisions = summary(s.reconcile("agent").decisions)
    # n2 and n3 are already down: replaced at once; they use up the budget of 1
    assert replaced(decisions) == ["n2", "n3"]


def test_max_surge_starts_new_beside_old_then_removes_old() -> None:
    s = fleet(3)
    s.apply(v2(max_unavailable="0", max_surge="1"))
    assert summary(s.step("agent").decisions) == [("schedule", "n0", "Surge")]
    assert len(s.state.daemon_sets[KEY].pods_by_node["n0"]) == 2
    assert s.reconcile("agent").decisions == []  # surge budget used
    s.advance(1).ready_all()
    # the new pod on n0 is available: its old pod goes, and the next node surges
    assert summary(s.step("agent").decisions) == [
        ("delete", "n0", "RollingUpdate"),
        ("schedule", "n1", "Surge"),
    ]


def test_min_ready_seconds_holds_the_next_wave() -> None:
    s = fleet(2, daemon_set("agent", min_ready_seconds=30))
    s.advance(60)  # v1 pods long available
    s.apply(v2(min_ready_seconds=30))
    assert replaced(summary(s.step("agent").decisions)) == ["n0"]
    s.advance(5).ready_all()
    ready_at = s.now
    result = s.reconcile("agent")
    assert result.decisions == []
    assert result.wake_at == ready_at + 30
    s.at(ready_at + 29.9)
    assert s.reconcile("agent").decisions == []
    s.at(ready_at + 30)
    assert replaced(summary(s.reconcile("agent").decisions)) == ["n1"]


def test_lost_node_does_not_hold_the_budget() -> None:
    s = fleet(3)
    s.lose("n0")
    s.apply(v2(max_unavailable="1"))
    # n0 is lost: it is skipped and does not count; n1 goes first
    decisions = summary(s.step("agent").decisions)
    assert replaced(decisions) == ["n1"]
    s.advance(1).ready_all()
    assert replaced(summary(s.step("agent").decisions)) == ["n2"]
    s.advance(1).ready_all()
    # every node that is not lost is updated: the rollout completes without n0
    assert summary(s.step("agent").decisions) == [("completed", "2")]
    # n0 comes back with its old pod: it is updated like any other node
    s.connect("n0")
    assert replaced(summary(s.step("agent").decisions)) == ["n0"]


def test_pause_stops_replacements_but_new_nodes_get_current_pods() -> None:
    s = fleet(3)
    s.apply(v2(max_unavailable="1"))
    s.step("agent")
    s.pause("agent")
    s.advance(1).ready_all()
    assert s.reconcile("agent").decisions == []
    s.register("n9")
    assert summary(s.step("agent", ["n9"]).decisions) == [("schedule", "n9", "NodeEligible")]
    assert s.state.pods[("default", s.pod_on("agent", "n9"))].revision == 2
    s.ready_all()
    s.resume("agent")
    assert replaced(summary(s.reconcile("agent").decisions)) == ["n1"]


def test_on_delete_replaces_only_deleted_pods() -> None:
    s = fleet(2, daemon_set("agent", strategy="OnDelete"))
    s.apply(daemon_set("agent", image="example/agent:2", strategy="OnDelete"))
    assert s.reconcile("agent").decisions == []
    s.request_delete(s.pod_on("agent", "n1"))
    result = s.step("agent")
    assert summary(result.decisions) == [
        ("delete", "n1", "UserRequested"),
        ("schedule", "n1", "OnDelete"),
    ]
    new = s.state.pods[("default", s.pod_on("agent", "n1"))]
    assert new.revision == 2


def test_progress_deadline_fails_the_rollout_once() -> None:
    s = fleet(2, daemon_set("agent", progress_deadline_seconds=60))
    s.apply(v2(progress_deadline_seconds=60))
    applied_at = s.now
    result = s.step("agent")  # n0 replaced; the new pod never becomes ready
    assert result.wake_at == applied_at + 60
    s.at(applied_at + 60)
    decisions = summary(s.step("agent").decisions)
    assert decisions == [("failed", "2", "ProgressDeadlineExceeded")]
    status = daemon_set_status(s.state, KEY, s.now)
    assert next(c.type for c in status.conditions if c.status == "True") == "RolloutFailed"
    s.advance(600)
    assert s.reconcile("agent").decisions == []


def test_progress_resets_the_deadline() -> None:
    s = fleet(2, daemon_set("agent", progress_deadline_seconds=60))
    s.apply(v2(progress_deadline_seconds=60))
    s.step("agent")
    s.advance(50).ready_all()  # progress at t+50
    s.step("agent")  # n1 replaced
    s.advance(50)
    result = s.reconcile("agent")
    assert result.decisions == []
    assert result.wake_at == s.now + 10


def test_auto_rollback_to_last_completed_revision() -> None:
    s = fleet(2, daemon_set("agent", progress_deadline_seconds=60, auto_rollback=True))
    s.apply(v2(progress_deadline_seconds=60, auto_rollback=True))
    s.step("agent")
    s.advance(60)
    result = s.step("agent")
    assert summary(result.decisions) == [
        ("failed", "2", "ProgressDeadlineExceeded"),
        ("rolled-back", "1"),
    ]
    reason = result.decisions[1].payload.daemon_set_rolled_back.reason
    assert "ProgressDeadlineExceeded" in reason
    ds = s.state.daemon_sets[KEY]
    assert (ds.revision, ds.template_hash) == (3, ds.completed_hash)
    # the restored template replaces the broken pod on n0
    decisions = summary(s.step("agent").decisions)
    assert ("schedule", "n0", "RollingUpdate") in decisions or (
        "schedule",
        "n0",
        "NodeEligible",
    ) in decisions


def _without_available_pod(s: Scenario) -> int:
    ds = s.state.daemon_sets[KEY]
    missing = 0
    for name in s.state.nodes:
        pods = s.state.daemon_pods_on_node(ds, name)
        if not any(p.ready and p.ready_since is not None for p in pods):
            missing += 1
    return missing


def test_budget_holds_at_every_step_of_a_rollout() -> None:
    s = fleet(20)
    s.apply(v2(max_unavailable="25%"))
    worst = 0
    for _ in range(200):
        s.step("agent")
        worst = max(worst, _without_available_pod(s))
        if s.state.daemon_sets[KEY].rollout_complete:
            break
        # one pod at a time becomes ready, in name order
        waiting = sorted(p.key[1] for p in s.state.pods.values() if not p.ready and p.owner == KEY)
        if waiting:
            s.advance(1).report(waiting[0])
    assert s.state.daemon_sets[KEY].rollout_complete
    assert worst == 5
    status = daemon_set_status(s.state, KEY, s.now)
    assert status.updated_number_scheduled == status.number_available == 20
