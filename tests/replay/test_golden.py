"""Golden logs: histories recorded from real runs, replayed with today's code.

Each tests/golden/NAME.jsonl must pass the decision check and fold to the
state in NAME.expected.json. `pytest tests/replay --update-golden` (or
scripts/record-golden) re-records them from a real plane with simulated
agents; review the diff in git. must-fail-doctored.jsonl is a recorded log
with one decision changed: the check must find exactly that one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ctrlplane._proto.v1 import events_pb2
from ctrlplane.replay.check import check_log
from ctrlplane.replay.jsonl import write_events
from ctrlplane.replay.sources import JsonlSource
from ctrlplane.replay.timetravel import fold_to
from ctrlplane.replay.view import cluster_view
from replay.recorder import SCENARIOS, record

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
MUST_FAIL = "must-fail-doctored"
DOCTORED_FROM = "rolling-update-surge"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


async def _expected(name: str, source: JsonlSource) -> dict[str, Any]:
    report = await check_log(source)
    state = await fold_to(source)
    return {
        "scenario": name,
        "description": (SCENARIOS[name].__doc__ or "").strip(),
        "check": {"ok": report.ok, "decisions": report.decisions, "passes": report.passes},
        "state": cluster_view(state),
    }


def _doctor(events: list[events_pb2.Event]) -> events_pb2.Event:
    """Move the first surged pod to another node: a decision today's code would not make."""
    target = next(e for e in events if e.WhichOneof("kind") == "pod_scheduled"
                  and e.pod_scheduled.reason == "Surge")
    nodes = sorted({e.node_registered.node.metadata.name for e in events
                    if e.WhichOneof("kind") == "node_registered"})
    target.pod_scheduled.node_name = next(n for n in nodes if n != target.pod_scheduled.node_name)
    return target


async def _record(name: str, tmp_path: Path) -> None:
    events = await record(name, tmp_path)
    with (GOLDEN / f"{name}.jsonl").open("w", encoding="utf-8") as out:
        write_events(events, out)
    _write_json(GOLDEN / f"{name}.expected.json",
                await _expected(name, JsonlSource(GOLDEN / f"{name}.jsonl")))
    if name == DOCTORED_FROM:
        target = _doctor(events)
        with (GOLDEN / f"{MUST_FAIL}.jsonl").open("w", encoding="utf-8") as out:
            write_events(events, out)
        _write_json(GOLDEN / f"{MUST_FAIL}.expected.json", {
            "doctoredFrom": DOCTORED_FROM,
            "divergence": {"seq": target.seq, "nodeName": target.pod_scheduled.node_name},
        })


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in SCENARIOS])
async def test_golden_log_replays(name: str, update_golden: bool, tmp_path: Path) -> None:
    if update_golden:
        await _record(name, tmp_path)
    path = GOLDEN / f"{name}.jsonl"
    assert path.exists(), f"{path} missing: run scripts/record-golden"
    source = JsonlSource(path)
    report = await check_log(source)
    assert report.ok, report.text()
    expected = json.loads((GOLDEN / f"{name}.expected.json").read_text(encoding="utf-8"))
    actual = await _expected(name, source)
    assert actual["check"] == expected["check"]
    assert actual["state"] == expected["state"]


async def test_the_doctored_log_must_fail() -> None:
    expected = json.loads((GOLDEN / f"{MUST_FAIL}.expected.json").read_text(encoding="utf-8"))
    report = await check_log(JsonlSource(GOLDEN / f"{MUST_FAIL}.jsonl"))
    assert not report.ok
    assert report.divergence is not None
    assert report.divergence.seq == expected["divergence"]["seq"]
    assert report.divergence.recorded["nodeName"] == expected["divergence"]["nodeName"]
    assert report.divergence.produced is not None
    assert report.divergence.produced["nodeName"] != expected["divergence"]["nodeName"]
