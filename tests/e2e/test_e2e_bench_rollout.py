"""`scripts/bench rollout` at a tiny size: it runs end to end and prints its figures.

No timing is asserted: only that the benchmark completes a real rolling update
and reports the rollout beside its same-run baseline.
"""

from __future__ import annotations

import re

import pytest

from ctrlplane.bench import rollout


@pytest.mark.slow  # swarm child processes and a real plane
def test_the_rollout_benchmark_runs_at_a_small_size(capsys: pytest.CaptureFixture[str]) -> None:
    rollout.main(["--nodes=40", "--per-process=20", "--unavailable=25%"])
    out = capsys.readouterr().out
    assert "N=    40  40 agents connected" in out
    assert "baseline: initial convergence" in out
    assert "x initial convergence" in out
    assert "maxUnavailable 25%: theoretical waves 4 " in out
    assert "at most 10 in one" in out
    peak = re.search(r"at most (\d+) nodes unavailable at any seq \(budget 10\)", out)
    assert peak is not None, out
    assert 1 <= int(peak.group(1)) <= 10


@pytest.mark.parametrize(
    ("nodes", "unavailable", "waves"),
    [
        pytest.param(10_000, "10%", 10, id="ten-percent"),
        pytest.param(20, "25%", 4, id="quarter-of-20"),
        pytest.param(15, "10%", 8, id="percent-rounds-up"),
        pytest.param(10, "3", 4, id="absolute"),
        pytest.param(5, "0%", 5, id="zero-means-one-at-a-time"),
    ],
)
def test_theoretical_waves(nodes: int, unavailable: str, waves: int) -> None:
    assert rollout.theoretical_waves(nodes, unavailable) == waves
