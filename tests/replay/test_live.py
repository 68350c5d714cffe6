"""Replay against a running plane: through Events.Read (--server), and on its SQLite
file opened read-only while the plane writes it. The log a real plane just wrote
passes the check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ctrlplane.cli.dsctl import main
from ctrlplane.replay.check import check_log
from ctrlplane.replay.jsonl import event_to_line
from ctrlplane.replay.sources import ServerSource, open_source
from replay.recorder import rig, rolling_update_surge

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


async def dsctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    return code, capsys.readouterr().out


async def test_replay_a_live_plane(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with rig(tmp_path) as r:
        await rolling_update_surge(r)
        head = r.state.seq
        address = r.plane.address

        code, out = await dsctl(capsys, "replay", "--server", address, "--check")
        assert code == 0, out
        code, out = await dsctl(capsys, "--server", address, "replay", "ds/web", "-o", "json")
        assert code == 0
        view = json.loads(out)
        assert view["seq"] >= head
        assert [d["revision"] for d in view["daemonSets"]] == [2]
        assert len(view["pods"]) == 3

        # The plane keeps writing; the read-only file replay sees a consistent prefix.
        code, out = await dsctl(capsys, "replay", str(tmp_path / "events.db"), "--check")
        assert code == 0, out

        server = ServerSource(address)
        sqlite = await open_source(str(tmp_path / "events.db"))
        try:
            assert await server.head() >= head
            from_server = [e async for batch in server.iterate(0, until_seq=head) for e in batch]
            from_file = [e async for batch in sqlite.iterate(0, until_seq=head) for e in batch]
            assert [event_to_line(e) for e in from_server] == [event_to_line(e) for e in from_file]
            assert len(from_file) == head
            assert (await check_log(server, until_seq=head)).ok
        finally:
            await server.close()
            await sqlite.close()


async def test_a_plane_started_from_an_exported_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ctrlplane serve --import` a golden log: the plane serves that history, it replays."""
    import sys

    golden = GOLDEN / "undo.jsonl"
    expected = json.loads((GOLDEN / "undo.expected.json").read_text())["state"]
    head = sum(1 for line in golden.read_text().splitlines() if line.strip())
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ctrlplane"), "serve", "--db", str(tmp_path / "x.db"),
        "--listen", "127.0.0.1:0", "--import", str(golden), "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            imported = (await process.stdout.readline()).decode()
            serving = (await process.stdout.readline()).decode()
        assert imported.startswith(f"ctrlplane: imported {head} events")
        address = serving.split("serving on ")[1].split()[0]
        code, out = await dsctl(capsys, "replay", "--server", address, "--at", str(head),
                                "-o", "json")
        assert code == 0
        assert json.loads(out) == expected
        code, out = await dsctl(capsys, "replay", "--server", address, "--check")
        assert code == 0, out
    finally:
        process.terminate()
        await process.wait()
