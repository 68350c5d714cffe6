"""`dsctl replay` end to end: SQLite files, JSONL files and a live plane, with exit codes.

dsctl runs its own event loop, so it runs in a worker thread here (stdout is
still captured): the same code path as the console script.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ctrlplane.cli.dsctl import main
from ctrlplane.replay.jsonl import event_to_line
from replay.scenarios import first, rollout_log, save, sqlite_log


async def dsctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    return await sqlite_log(tmp_path / "events.db", rollout_log().events)


async def test_state_at_the_head(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await dsctl(capsys, "replay", str(db))
    assert code == 0
    assert "DAEMONSETS" in out
    assert "fluentd   2 (" in out
    lines = out.splitlines()
    pods = lines[lines.index("PODS") + 1 :]
    assert [line.split()[0] for line in pods[1:]] == ["n0", "n1"]


async def test_state_at_a_seq_as_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = rollout_log().events
    applied_v2 = [e for e in events if e.WhichOneof("kind") == "daemon_set_applied"][1]
    code, out, _ = await dsctl(capsys, "replay", str(db), "--at", str(applied_v2.seq - 1),
                               "-o", "json")
    assert code == 0
    view = json.loads(out)
    assert view["seq"] == applied_v2.seq - 1
    assert [ds["revision"] for ds in view["daemonSets"]] == [1]
    assert {p["node"] for p in view["pods"]} == {"n0", "n1"}
    assert {n["name"]: n["labels"]["disk"] for n in view["nodes"]} == {
        "n0": "ssd", "n1": "ssd", "n2": "hdd"}


async def test_state_at_a_time(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = rollout_log().events
    label = first(events, "node_labels_changed")
    code, out, _ = await dsctl(capsys, "replay", str(db), "--at", f"@{label.time - 0.5}",
                               "-o", "json")
    assert code == 0
    view = json.loads(out)
    assert view["seq"] < label.seq
    assert {n["name"]: n["labels"]["disk"] for n in view["nodes"]}["n2"] == "ssd"


@pytest.mark.parametrize(
    ("filters", "nodes", "pods_on"),
    [
        pytest.param(["node/n1"], ["n1"], ["n1"], id="node"),
        pytest.param(["ds/fluentd"], ["n0", "n1"], ["n0", "n1"], id="daemon-set"),
        pytest.param(["ds/default/fluentd", "node/n0"], ["n0"], ["n0"], id="both"),
        pytest.param(["ds/other"], [], [], id="no-such-set"),
    ],
)
async def test_filters(
    db: Path, capsys: pytest.CaptureFixture[str], filters: list[str], nodes: list[str],
    pods_on: list[str],
) -> None:
    code, out, _ = await dsctl(capsys, "replay", str(db), *filters, "-o", "json")
    assert code == 0
    view = json.loads(out)
    assert [n["name"] for n in view["nodes"]] == nodes
    assert [p["node"] for p in view["pods"]] == pods_on


async def test_check_passes_and_fails(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await dsctl(capsys, "replay", str(db), "--check")
    assert code == 0, out
    assert out.rstrip().endswith("OK")
    events = rollout_log().events
    target = first(events, "pod_scheduled")
    target.pod_scheduled.node_name = "n9"
    doctored = save(events, tmp_path / "doctored.jsonl")
    code, out, _ = await dsctl(capsys, "replay", str(doctored), "--check", "-o", "json")
    assert code == 1
    report = json.loads(out)
    assert report["divergence"]["seq"] == target.seq
    assert report["divergence"]["recorded"]["nodeName"] == "n9"
    assert report["divergence"]["produced"]["nodeName"] == "n0"

    # --at cuts the check too: a time just before the doctored decision passes.
    before = f"@{target.time - 0.5}"
    code, out, _ = await dsctl(capsys, "replay", str(doctored), "--check", "--at", before)
    assert code == 0, out
    code, out, _ = await dsctl(
        capsys, "replay", str(doctored), "--check", "--at", f"@{target.time}"
    )
    assert code == 1, out


async def test_diff_explain_and_export(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = rollout_log().events
    label = first(events, "node_labels_changed")
    span = f"{label.seq - 1}..{label.seq + 1}"
    code, out, _ = await dsctl(capsys, "replay", str(db), "--diff", span)
    assert code == 0
    assert "node/n2 changed: labels disk: ssd -> hdd" in out
    assert "PodDeleted" in out
    assert "NodeIneligible" in out

    deleted = first(events, "pod_deleted").pod_deleted
    code, out, _ = await dsctl(capsys, "replay", str(db), "--explain", f"pod/{deleted.pod_name}")
    assert code == 0
    assert "NodeSelector: nodeSelector disk=ssd: node has disk=hdd" in out
    assert "today's reconcile: makes the same decision" in out

    code, out, _ = await dsctl(capsys, "replay", str(db), "--explain", "node/n0", "ds/fluentd")
    assert code == 0
    assert "budget: maxUnavailable 1 -> 1 of 2 desired" in out

    target = tmp_path / "out.jsonl"
    code, _, err = await dsctl(capsys, "replay", str(db), "--export", str(target))
    assert code == 0
    assert f"exported {len(events)} events" in err
    assert target.read_text() == "".join(event_to_line(e) + "\n" for e in events)
    code, out, _ = await dsctl(capsys, "replay", str(target), "--check")
    assert code == 0, out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["replay", "missing.db"], "no such file", id="missing-file"),
        pytest.param(["replay", "{garbage}"], "error: ", id="not-an-event-log"),
        pytest.param(["replay", "{db}", "--server", "127.0.0.1:1"], "not both",
                     id="log-and-server"),
        pytest.param(["replay"], "give an event-log file", id="no-log"),
        pytest.param(["replay", "{db}", "--at", "yesterday"], "--at", id="bad-at"),
        pytest.param(["replay", "{db}", "--diff", "5"], "A..B", id="bad-diff"),
        pytest.param(["replay", "{db}", "pods/x"], "ds/NAME or node/NAME", id="bad-filter"),
        pytest.param(["replay", "{db}", "--explain", "ds/fluentd"], "pod/NAME", id="bad-explain"),
    ],
)
async def test_usage_errors_exit_2(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no database\n" * 100)
    argv = [a.replace("{db}", str(db)).replace("{garbage}", str(garbage)) for a in argv]
    code, _, err = await dsctl(capsys, *argv)
    assert code == 2
    assert message in err


async def test_explain_of_an_unknown_pod_exits_1(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await dsctl(capsys, "replay", str(db), "--explain", "pod/nope")
    assert code == 1
    assert out == "pod/nope: no decision about it in this log\n"


async def test_views_from_a_snapshot_equal_views_from_a_full_fold(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ctrlplane.domain.state import fold
    from ctrlplane.replay.snapshots import list_snapshots, write_snapshot
    from ctrlplane.replay.sources import open_source

    events = rollout_log().events
    ats = ["5", str(len(events) // 2), str(len(events))]
    before = [(await dsctl(capsys, "replay", str(db), "--at", at, "-o", "json"))[1] for at in ats]
    source = await open_source(str(db))
    try:
        await write_snapshot(source, db, fold(events[: len(events) // 2]))
    finally:
        await source.close()
    assert list_snapshots(db)
    after = [(await dsctl(capsys, "replay", str(db), "--at", at, "-o", "json"))[1] for at in ats]
    assert after == before
