"""Group commit planning equals appending the batches one by one (pure)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ctrlplane.eventlog.base import ANY_VERSION, ConcurrencyError
from ctrlplane.eventlog.grouping import Prepared, plan_group

STREAMS = ["node/a", "node/b", "daemonset/default/x"]

event = st.sampled_from(STREAMS).map(
    lambda s: (s, "NodeCordoned", b"\xba\x01\x00", 1.0, "user:t", 0)
)
expected = st.dictionaries(st.sampled_from(STREAMS), st.integers(ANY_VERSION, 4), max_size=2)
batches = st.lists(st.tuples(st.lists(event, max_size=3), expected | st.none()), max_size=8)
committed = st.dictionaries(st.sampled_from(STREAMS), st.integers(1, 3))


def one_by_one(
    group: list[tuple[list[Prepared], dict[str, int] | None]], versions: dict[str, int], head: int
) -> tuple[list[object], dict[str, int], int]:
    versions = dict(versions)
    outcomes: list[object] = []
    for prepared, want in group:
        stale = [
            (s, v, versions.get(s, 0))
            for s, v in (want or {}).items()
            if v != ANY_VERSION and versions.get(s, 0) != v
        ]
        if stale:
            outcomes.append(stale[0])
            continue
        for stream, *_ in prepared:
            versions[stream] = versions.get(stream, 0) + 1
            head += 1
        outcomes.append(head)
    return outcomes, versions, head


# No deadline: the machine running the suite is shared and its timing is not ours.
@settings(deadline=None)
@given(batches, committed, st.integers(0, 100))
def test_a_group_is_its_batches_in_order(
    group: list[tuple[list[Prepared], dict[str, int] | None]],
    versions: dict[str, int],
    head: int,
) -> None:
    plan = plan_group(group, lambda s: versions.get(s, 0), head)
    outcomes = [
        (o.stream, o.expected, o.actual) if isinstance(o, ConcurrencyError) else o
        for o in plan.outcomes
    ]
    want_outcomes, want_versions, want_head = one_by_one(group, versions, head)
    assert outcomes == want_outcomes
    assert plan.head == want_head
    assert {**versions, **plan.versions} == want_versions
    assert [row[0] for row in plan.rows] == list(range(head + 1, want_head + 1))
