"""scripts/demo --once: the README's first command runs the whole tour and cleans up."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def processes_under(directory: Path) -> list[int]:
    """Pids whose working directory is inside `directory` (the pods' sandboxes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(directory)):
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_demo_once_tours_and_cleans_up(tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != "DSCTL_SERVER"}
    result = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--once", "--dir", str(demo_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=140, check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    for line in (
        "daemonset.apps/fluentd created",
        'daemon set "fluentd" successfully rolled out',
        "node/node-2 labeled",
        "the pod followed the label:",
        "hello from the demo",
        "demo: tour complete",
    ):
        assert line in out
    # After the relabel: pods on node-2 and node-3, none on node-1.
    after = out.split("the pod followed the label:")[1].split("$ dsctl get ds fluentd")[0]
    nodes = sorted(line.split()[-1] for line in after.splitlines() if line.startswith("fluentd-"))
    assert nodes == ["node-2", "node-3"]
    assert (demo_dir / "events.db").exists()
    assert processes_under(demo_dir) == [], "the demo left pod processes running"
