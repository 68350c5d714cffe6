"""The decision check: recorded decisions reproduced, doctored ones caught, invariants held."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.replay.check import check_log
from ctrlplane.replay.jsonl import read_lines
from ctrlplane.replay.sources import JsonlSource
from ctrlplane.replay.timetravel import At
from replay.logs import LogBuilder, daemon_set
from replay.scenarios import first, rollout_log, save

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_EVENTS = {
    name: list(read_lines((GOLDEN / f"{name}.jsonl").read_text().splitlines()))
    for name in ("undo",)
}


async def check(events: list[events_pb2.Event], tmp_path: Path):  # type: ignore[no-untyped-def]
    return await check_log(JsonlSource(save(events, tmp_path / "log.jsonl")))


async def test_a_log_the_controller_wrote_passes(tmp_path: Path) -> None:
    log = rollout_log()
    report = await check(log.events, tmp_path)
    assert report.ok, report.text()
    decisions = [e for e in log.events if e.actor == "controller"]
    assert report.decisions == len(decisions)
    assert report.partial_passes == 0


async def test_partial_passes_are_accepted(tmp_path: Path) -> None:
    """The live loop reconciles only the touched nodes; that is a subset, not a divergence."""
    log = LogBuilder()
    for i in range(3):
        log.register(f"n{i}", {"disk": "ssd"})
    log.apply(daemon_set(node_selector={"disk": "ssd"}))
    log.tick()
    assert len(log.controller_pass(nodes=["n1"])) == 1
    log.tick()
    log.controller_pass()
    report = await check(log.events, tmp_path)
    assert report.ok, report.text()
    assert report.partial_passes == 1


def _doctor_node(event: events_pb2.Event) -> None:
    event.pod_scheduled.node_name = "elsewhere"


def _doctor_reason(event: events_pb2.Event) -> None:
    event.pod_deleted.reason = "Duplicate"


def _doctor_revision(event: events_pb2.Event) -> None:
    event.pod_scheduled.revision = 7


@pytest.mark.parametrize(
    ("kind", "doctor", "field"),
    [
        pytest.param("pod_scheduled", _doctor_node, "nodeName", id="scheduled-elsewhere"),
        pytest.param("pod_deleted", _doctor_reason, "reason", id="deleted-for-another-reason"),
        pytest.param("pod_scheduled", _doctor_revision, "revision", id="wrong-revision"),
    ],
)
async def test_a_doctored_decision_is_the_first_divergence(
    tmp_path: Path, kind: str, doctor: object, field: str
) -> None:
    events = rollout_log().events
    target = first(events, kind)
    assert callable(doctor)
    doctor(target)
    report = await check(events, tmp_path)
    assert not report.ok
    div = report.divergence
    assert div is not None
    assert div.seq == target.seq
    assert div.cause_seq == target.cause_seq
    assert div.produced is not None
    assert div.recorded[field] != div.produced[field]
    assert f"DIVERGENCE at seq {target.seq}" in report.text()


async def test_a_decision_nobody_would_make_is_caught(tmp_path: Path) -> None:
    log = rollout_log()
    extra = events_pb2.Event()
    extra.CopyFrom(first(log.events, "pod_deleted"))
    events = [*log.events]
    extra.seq = len(events) + 1
    extra.cause_seq = len(events)
    extra.version = 99
    events.append(extra)
    report = await check(events, tmp_path)
    assert not report.ok
    assert report.divergence is not None
    assert report.divergence.seq == extra.seq
    assert report.divergence.produced is None


async def test_two_pods_of_one_set_on_a_node_break_the_invariant(tmp_path: Path) -> None:
    events = rollout_log().events
    scheduled = first(events, "pod_scheduled")
    twin = events_pb2.Event()
    twin.CopyFrom(scheduled)
    twin.pod_scheduled.pod_name = "fluentd-twin"
    # Recorded as a fact, so only the invariant (not the decision check) can catch it.
    twin.actor = "user:test"
    twin.cause_seq = 0
    events.insert(scheduled.seq, twin)
    for seq, event in enumerate(events, start=1):
        event.seq = seq
    report = await check_log(JsonlSource(save(events, tmp_path / "log.jsonl")))
    assert [v.seq for v in report.violations] == [twin.seq]
    assert "2 pods of ds/default/fluentd" in report.violations[0].message


async def test_a_pass_from_an_older_state_is_checked_against_that_state(tmp_path: Path) -> None:
    """Two controllers (or a slow one): causes may go backwards; the check refolds."""
    log = LogBuilder()
    log.register("n0", {"disk": "ssd"})
    log.register("n1", {"disk": "ssd"})
    log.apply(daemon_set(node_selector={"disk": "ssd"}))
    log.tick()
    cause = log.state.seq
    log.controller_pass(nodes=["n1"])
    log.label("n1", {"disk": "ssd", "x": "y"})
    from ctrlplane.controller.reconcile import reconcile
    from ctrlplane.domain.state import fold

    # A decision computed from the state at `cause`, appended after newer events.
    old_state = fold(log.events[:cause])
    decision = reconcile(old_state, ("default", "fluentd"), log.time, nodes={"n0"}).decisions[0]
    log.add(decision.stream, decision.payload, "controller", cause_seq=cause)
    report = await check(log.events, tmp_path)
    assert report.ok, report.text()
    assert report.passes == 2


async def test_a_changed_controller_is_caught_on_a_golden_history() -> None:
    """What the check is for: today's code against recorded histories. A controller
    that orders its rolling update differently fails on the first moved decision."""
    from ctrlplane.controller.reconcile import ReconcileResult, reconcile

    def reversed_rollout(state, key, now, *, nodes=None):  # type: ignore[no-untyped-def]
        result = reconcile(state, key, now, nodes=nodes)
        return ReconcileResult(list(reversed(result.decisions)), result.wake_at)

    golden = GOLDEN / "undo.jsonl"
    assert (await check_log(JsonlSource(golden))).ok
    report = await check_log(JsonlSource(golden), reconcile=reversed_rollout)
    assert not report.ok
    assert report.divergence is not None
    first = next(e for e in GOLDEN_EVENTS["undo"] if e.actor == "controller")
    assert report.divergence.seq == first.seq


@pytest.mark.parametrize(
    ("moment", "caught"),
    [
        pytest.param(lambda t: At(time=t.time - 0.5), False, id="time-before-the-decision"),
        pytest.param(lambda t: At(time=t.time), True, id="time-of-the-decision"),
        pytest.param(lambda t: At(seq=t.seq - 1), False, id="seq-before-the-decision"),
        pytest.param(lambda t: At(seq=t.seq), True, id="seq-of-the-decision"),
    ],
)
async def test_the_check_stops_at_a_seq_or_a_time(
    tmp_path: Path, moment: Callable[[events_pb2.Event], At], caught: bool
) -> None:
    """`--at` cuts the check where it cuts the state: after a seq, or before the first
    event later than a time."""
    events = rollout_log().events
    target = first(events, "pod_deleted")
    _doctor_reason(target)
    at = moment(target)
    report = await check_log(JsonlSource(save(events, tmp_path / "log.jsonl")), at=at)
    if caught:
        assert report.divergence is not None
        assert report.divergence.seq == target.seq
    else:
        assert report.ok, report.text()
        assert 0 < report.events == sum(1 for _ in itertools.takewhile(at.includes, events))
