"""Revision history derived from the log: numbering, re-apply, undo, history limit."""

from __future__ import annotations

import pytest

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set
from ctrlplane.domain.errors import NotFound
from ctrlplane.domain.revisions import history, rollback_target, template_hash
from ctrlplane.domain.state import DaemonSetState

KEY = ("default", "web")


def _v(n: int, limit: int | None = None) -> objects_pb2.DaemonSet:
    return daemon_set("web", image=f"web:{n}", revision_history_limit=limit)


def _ds(s: Scenario) -> DaemonSetState:
    return s.state.daemon_sets[KEY]


def _numbers(s: Scenario) -> list[tuple[int, str]]:
    """(revision, image) per kept revision, ascending."""
    return [(r.revision, r.template.spec.containers[0].image) for r in history(_ds(s))]


def _three() -> Scenario:
    s = Scenario()
    for n in (1, 2, 3):
        s.apply(_v(n), change_cause=f"v{n}")
    return s


def test_template_hash_is_stable_and_short() -> None:
    a = daemon_set("web").spec.template
    b = daemon_set("web").spec.template
    assert template_hash(a) == template_hash(b)
    assert len(template_hash(a)) == 10
    assert template_hash(daemon_set("web", image="x").spec.template) != template_hash(a)


def test_apply_three_versions() -> None:
    s = _three()
    assert _numbers(s) == [(1, "web:1"), (2, "web:2"), (3, "web:3")]
    assert [r.change_cause for r in history(_ds(s))] == ["v1", "v2", "v3"]
    assert _ds(s).revision == 3


def test_undo_moves_the_previous_revision_to_the_top() -> None:
    s = _three()
    s.undo("web")
    assert _numbers(s) == [(1, "web:1"), (3, "web:3"), (4, "web:2")]
    ds = _ds(s)
    assert ds.revision == 4
    assert ds.obj.spec.template.spec.containers[0].image == "web:2"
    assert ds.obj.metadata.generation == 4
    # the restored revision keeps its change-cause
    assert history(ds)[-1].change_cause == "v2"


def test_undo_to_revision_one() -> None:
    s = _three()
    s.undo("web", to_revision=1)
    assert _numbers(s) == [(2, "web:2"), (3, "web:3"), (4, "web:1")]


def test_reapplying_an_old_template_moves_it() -> None:
    s = _three()
    s.apply(_v(1))
    assert _numbers(s) == [(2, "web:2"), (3, "web:3"), (4, "web:1")]


def test_rollback_target_current_unknown_and_none() -> None:
    s = _three()
    ds = _ds(s)
    assert rollback_target(ds, 3).hash == ds.template_hash  # the API prints "skipped"
    assert rollback_target(ds, 0).revision == 2
    with pytest.raises(NotFound):
        rollback_target(ds, 9)
    single = Scenario()
    single.apply(_v(1))
    with pytest.raises(NotFound):
        rollback_target(_ds(single), 0)


@pytest.mark.parametrize(
    ("limit", "kept"),
    [
        pytest.param(0, [5], id="zero-keeps-only-current"),
        pytest.param(2, [3, 4, 5], id="two-old-plus-current"),
        pytest.param(None, [1, 2, 3, 4, 5], id="default-ten"),
    ],
)
def test_history_limit(limit: int | None, kept: list[int]) -> None:
    s = Scenario()
    for n in range(1, 6):
        s.apply(_v(n, limit))
    assert [r.revision for r in history(_ds(s))] == kept
    oldest_dropped = 1 if kept[0] > 1 else None
    if oldest_dropped is not None:
        with pytest.raises(NotFound):
            rollback_target(_ds(s), oldest_dropped)
