"""plan(desired, running): the pure diff behind idempotent assignments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.plan import Action, plan

A = ("default", "a")
B = ("default", "b")
C = ("default", "c")


@pytest.mark.parametrize(
    ("desired", "running", "expected"),
    [
        pytest.param({}, {}, [], id="nothing"),
        pytest.param({A: "h1"}, {}, [Action("start", A)], id="new-pod-starts"),
        pytest.param({A: "h1"}, {A: "h1"}, [], id="repeated-delta-changes-nothing"),
        pytest.param({}, {A: "h1"}, [Action("stop", A)], id="removed-pod-stops"),
        pytest.param({A: "h2"}, {A: "h1"}, [Action("replace", A)], id="new-revision-replaces"),
        pytest.param(
            {B: "h", C: "h"},
            {A: "h", B: "h"},
            [Action("stop", A), Action("start", C)],
            id="stops-before-starts",
        ),
    ],
)
def test_plan(
    desired: dict[tuple[str, str], str],
    running: dict[tuple[str, str], str],
    expected: list[Action],
) -> None:
    assert plan(desired, running) == expected


keys = st.tuples(st.just("default"), st.sampled_from("abcdef"))
pod_maps = st.dictionaries(keys, st.sampled_from(["h1", "h2"]), max_size=6)


def _apply(running: dict[tuple[str, str], str], desired: dict[tuple[str, str], str]) -> None:
    for action in plan(desired, running):
        if action.verb == "stop":
            del running[action.key]
        else:
            running[action.key] = desired[action.key]


@given(desired=pod_maps, running=pod_maps)
def test_applying_a_plan_leaves_nothing_to_do(
    desired: dict[tuple[str, str], str], running: dict[tuple[str, str], str]
) -> None:
    _apply(running, desired)
    assert running == desired
    assert plan(desired, running) == []
