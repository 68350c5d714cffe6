"""The planner reading the fold's rollout book decides exactly as the full scan did.

For random histories (rolling updates with surge, minReadySeconds, partial
readiness, failures, lost nodes, preferences), after every step every set is
reconciled by ctrlplane.controller.reconcile and by the reference planner that
scans every node (reference_rollout.py), on every node and limited to a few:
the same decisions in the same order. While rolling, the wake-up time too
(when only completion is watched, the new planner may wake earlier: an early
wake costs one pass that decides nothing).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.controller.reconcile import reconcile
from ctrlplane.controller.scenario import Scenario, daemon_set
from ctrlplane.domain.rollout_book import OLD_READY, recount, same
from ctrlplane.domain.state import ClusterState

from . import reference_rollout

NODES = [f"n{i}" for i in range(8)]
SETS = ["alpha", "beta"]


def _preferred() -> objects_pb2.Affinity:
    affinity = objects_pb2.Affinity()
    term = affinity.node_affinity.preferred_during_scheduling_ignored_during_execution.add()
    term.weight = 10
    term.preference.match_expressions.add(key="zone", operator="In", values=["a"])
    return affinity


@st.composite
def daemon_sets(draw: st.DrawFn) -> objects_pb2.DaemonSet:
    surge = draw(st.sampled_from(["0", "0", "1", "50%"]))
    return daemon_set(
        draw(st.sampled_from(SETS)),
        image=draw(st.sampled_from(["img:1", "img:2", "img:3"])),
        node_selector=draw(st.dictionaries(st.just("disk"), st.just("a"))),
        strategy=draw(st.sampled_from(["RollingUpdate", "RollingUpdate", "OnDelete"])),
        max_unavailable=draw(st.sampled_from(["1", "2", "34%"])) if surge == "0" else "0",
        max_surge=surge,
        min_ready_seconds=draw(st.sampled_from([0, 5, 30])),
        affinity=_preferred() if draw(st.booleans()) else None,
    )


ops = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(NODES), st.sampled_from(["a", "b"])),
    st.tuples(st.just("lose"), st.sampled_from(NODES)),
    st.tuples(st.just("connect"), st.sampled_from(NODES)),
    st.tuples(st.just("delete-node"), st.sampled_from(NODES)),
    st.tuples(st.just("apply"), daemon_sets()),
    st.tuples(st.just("pause"), st.sampled_from(SETS), st.booleans()),
    st.tuples(st.just("ready"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("ready-all")),
    st.tuples(st.just("ready-all")),
    st.tuples(st.just("converge")),
    st.tuples(st.just("apply"), daemon_sets()),
    st.tuples(st.just("fail"), st.integers(0, 30)),
    st.tuples(st.just("delete-pod"), st.integers(0, 30)),
    st.tuples(st.just("wait"), st.sampled_from([1.0, 4.0, 5.0, 10.0, 31.0])),
)


def _pod(s: Scenario, index: int) -> tuple[str, str] | None:
    pods = sorted(k for k, p in s.state.pods.items() if not p.static)
    return pods[index % len(pods)] if pods else None


def _do(s: Scenario, op: tuple[Any, ...]) -> None:
    kind, *args = op
    state = s.state
    if kind == "register":
        s.register(args[0], {"disk": "a", "zone": args[1]})
    elif kind in ("lose", "connect", "delete-node"):
        if args[0] in state.nodes:
            {"lose": s.lose, "connect": s.connect, "delete-node": s.delete_node}[kind](args[0])
    elif kind == "apply":
        s.apply(args[0])
    elif kind == "pause":
        ds = state.daemon_sets.get(("default", args[0]))
        if ds is not None and not ds.deleted and ds.paused != args[1]:
            (s.pause if args[1] else s.resume)(args[0])
    elif kind == "ready":
        key = _pod(s, args[0])
        if key is not None:
            s.report(key[1], ready=args[1], namespace=key[0])
    elif kind == "ready-all":
        s.ready_all()
    elif kind == "converge":
        for key in sorted(state.daemon_sets):
            s.step(key)
    elif kind == "fail":
        key = _pod(s, args[0])
        if key is not None:
            s.report(key[1], phase="Failed", ready=False, namespace=key[0])
    elif kind == "delete-pod":
        key = _pod(s, args[0])
        if key is not None:
            s.request_delete(key[1], namespace=key[0])
    elif kind == "wait":
        s.advance(args[0])


def _compare(s: Scenario, scope: list[str] | None) -> None:
    for key in sorted(s.state.daemon_sets):
        ds = s.state.daemon_sets[key]
        assert same(ds.book, recount(s.state, ds)) == [], key
        got = reconcile(s.state, key, s.now, nodes=scope)
        want = reference_rollout.reconcile(s.state, key, s.now, nodes=scope)
        assert got.decisions == want.decisions, (key, scope)
        on_delete = ds.obj.spec.update_strategy.type == "OnDelete"
        if not on_delete and not ds.paused and ds.outdated_count > 0:
            assert got.wake_at == want.wake_at, (key, scope)
        elif want.wake_at is not None:  # never later than the scan woke
            assert got.wake_at is not None, (key, scope)
            assert got.wake_at <= want.wake_at, (key, scope)


histories = st.tuples(
    st.lists(st.tuples(st.just("register"), st.sampled_from(NODES), st.just("a")), min_size=2),
    st.lists(st.tuples(st.just("apply"), daemon_sets()), min_size=1, max_size=2),
    st.lists(ops, max_size=30),
).map(lambda parts: [*parts[0], *parts[1], ("converge",), ("ready-all",), *parts[2]])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.lists(st.sampled_from(NODES), max_size=3, unique=True))
def test_planner_decides_as_the_full_scan(history: list[tuple[Any, ...]], scope: list[str]) -> None:
    s = Scenario()
    for op in history:
        _do(s, op)
        _compare(s, None)
        _compare(s, scope)
        for key in sorted(s.state.daemon_sets):
            s.step(key, nodes=scope)  # limited passes leave work for the book's nodes
            _compare(s, None)
            _compare(s, [])


def test_a_rollout_reads_the_book_not_every_node() -> None:
    s = Scenario()
    for i in range(40):
        s.register(f"n{i:02}", {"disk": "a"})
    s.apply(daemon_set("agent", max_unavailable="10%"))
    s.converge("agent")
    s.ready_all()
    s.step("agent")
    s.apply(daemon_set("agent", image="img:2", max_unavailable="10%"))
    book = s.state.daemon_sets[("default", "agent")].book
    assert len(book.members[OLD_READY]) == 40
    result = s.reconcile("agent", nodes=[])
    want = reference_rollout.reconcile(s.state, ("default", "agent"), s.now, nodes=[])
    assert result.decisions == want.decisions
    assert len(result.decisions) == 2 * 4  # 4 nodes (10 % of 40): delete + schedule each


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_book_equals_a_recount_after_every_event(history: list[tuple[Any, ...]]) -> None:
    s = Scenario()
    for op in history:
        _do(s, op)
    live = ClusterState()
    for event in s.events:
        live.apply(event)
        for key, ds in live.daemon_sets.items():
            assert same(ds.book, recount(live, ds)) == [], (key, event)
