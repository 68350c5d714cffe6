"""Properties of the fold and of reconcile over random histories (hypothesis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.controller.scenario import Scenario, daemon_set, taint
from ctrlplane.domain.eligibility import compile_spec
from ctrlplane.domain.errors import NotFound
from ctrlplane.domain.revisions import rollback_target
from ctrlplane.domain.rollout_book import recount, same
from ctrlplane.domain.state import ClusterState, fold

NODES = ["n0", "n1", "n2", "n3", "n4", "n5"]
SETS = ["alpha", "beta"]

labels_st = st.dictionaries(
    st.sampled_from(["zone", "disk", "role"]), st.sampled_from(["a", "b"]), max_size=3
)
taints_st = st.lists(
    st.builds(
        taint,
        st.sampled_from(["dedicated", "gpu", "node.kubernetes.io/unreachable"]),
        st.sampled_from(["", "x"]),
        st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"]),
    ),
    max_size=2,
)


@st.composite
def daemon_sets(draw: st.DrawFn) -> objects_pb2.DaemonSet:
    strategy = draw(st.sampled_from(["RollingUpdate", "OnDelete"]))
    surge = draw(st.sampled_from(["0", "1", "50%"]))
    return daemon_set(
        draw(st.sampled_from(SETS)),
        image=draw(st.sampled_from(["img:1", "img:2", "img:3"])),
        node_selector=draw(st.dictionaries(st.sampled_from(["zone", "disk"]), st.just("a"))),
        strategy=strategy,
        max_unavailable=draw(st.sampled_from(["1", "34%"])) if surge == "0" else "0",
        max_surge=surge,
        tolerations=draw(
            st.lists(
                st.builds(
                    objects_pb2.Toleration,
                    key=st.sampled_from(["dedicated", "gpu"]),
                    operator=st.just("Exists"),
                ),
                max_size=1,
            )
        ),
    )


ops = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(NODES), labels_st, taints_st),
    st.tuples(st.just("label"), st.sampled_from(NODES), labels_st),
    st.tuples(st.just("taint"), st.sampled_from(NODES), taints_st),
    st.tuples(st.just("lose"), st.sampled_from(NODES)),
    st.tuples(st.just("connect"), st.sampled_from(NODES)),
    st.tuples(st.just("delete-node"), st.sampled_from(NODES)),
    st.tuples(st.just("apply"), daemon_sets()),
    st.tuples(st.just("delete-ds"), st.sampled_from(SETS)),
    st.tuples(st.just("undo"), st.sampled_from(SETS), st.integers(0, 3)),
    st.tuples(st.just("ready"), st.just(None)),
    st.tuples(st.just("fail"), st.integers(0, 20)),
    st.tuples(st.just("delete-pod"), st.integers(0, 20)),
    st.tuples(st.just("wait"), st.floats(0.5, 100)),
    # decide, then a node goes before the decisions are folded (a stale pass)
    st.tuples(st.just("stale-decide"), st.sampled_from(SETS), st.sampled_from(NODES)),
)


def _do(s: Scenario, op: tuple[Any, ...]) -> None:
    kind, *args = op
    state = s.state
    if kind == "register":
        s.register(*args)
    elif kind in ("label", "taint", "lose", "connect", "delete-node"):
        if args[0] not in state.nodes:
            return
        actions: dict[str, Callable[..., object]] = {
            "label": s.label,
            "taint": s.set_taints,
            "lose": s.lose,
            "connect": s.connect,
            "delete-node": s.delete_node,
        }
        actions[kind](*args)
    elif kind == "apply":
        s.apply(args[0])
    elif kind == "delete-ds":
        ds = state.daemon_sets.get(("default", args[0]))
        if ds is not None and not ds.deleted:
            s.delete_daemon_set(args[0])
    elif kind == "undo":
        ds = state.daemon_sets.get(("default", args[0]))
        if ds is None or ds.deleted:
            return
        try:
            rollback_target(ds, args[1])
        except NotFound:
            return
        s.undo(args[0], args[1])
    elif kind == "ready":
        s.ready_all()
    elif kind in ("fail", "delete-pod"):
        pods = sorted(k for k, p in state.pods.items() if not p.static)
        if not pods:
            return
        ns, name = pods[args[0] % len(pods)]
        if kind == "fail":
            s.report(name, phase="Failed", ready=False, namespace=ns)
        else:
            s.request_delete(name, namespace=ns)
    elif kind == "wait":
        s.advance(args[0])
    elif kind == "stale-decide":
        key = ("default", args[0])
        if key not in state.daemon_sets:
            return
        if args[1] not in state.nodes:
            s.register(args[1])
        decided = s.reconcile(key)
        s.delete_node(args[1])
        s.record(decided.decisions)


def _check_placement(s: Scenario) -> None:
    for key, ds in s.state.daemon_sets.items():
        if ds.deleted:
            assert ds.pod_count == 0, key
            continue
        compiled = compile_spec(key[0], ds.obj.spec.template.spec)
        for name, node in s.state.nodes.items():
            pods = s.state.daemon_pods_on_node(ds, name)
            hashes = [p.revision_hash for p in pods]
            assert len(hashes) == len(set(hashes)), (key, name, "two pods of one template")
            verdict = compiled.evaluate(node.node, s.state, key)
            if verdict.should_run:
                assert pods, (key, name, "eligible node without a pod")
            if not verdict.should_continue:
                assert not pods, (key, name, "pod on an ineligible node")
        assert set(ds.pods_by_node) <= set(s.state.nodes), key


registered = st.lists(
    st.tuples(st.just("register"), st.sampled_from(NODES), labels_st, taints_st),
    min_size=1,
    max_size=6,
)
applied = st.lists(st.tuples(st.just("apply"), daemon_sets()), min_size=1, max_size=2)
histories = st.tuples(registered, applied, st.lists(ops, max_size=20)).map(
    lambda parts: parts[0] + parts[1] + parts[2]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_reconcile_is_idempotent_and_places_exactly(history: list[tuple[Any, ...]]) -> None:
    s = Scenario()
    for op in history:
        _do(s, op)
        for key in sorted(s.state.daemon_sets):
            s.step(key)
            # fold its decisions, reconcile again at the same time: nothing new
            assert s.reconcile(key).decisions == [], (key, op)
        _check_placement(s)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.integers(0, 200))
def test_fold_is_a_fold(history: list[tuple[Any, ...]], cut: int) -> None:
    s = Scenario()
    for op in history:
        _do(s, op)
        for key in sorted(s.state.daemon_sets):
            s.step(key)
    events = s.events
    cut = min(cut, len(events))
    assert fold(events) == s.state
    assert fold(events[cut:], fold(events[:cut])) == s.state


def _check_books(state: ClusterState) -> None:
    for key, ds in state.daemon_sets.items():
        assert same(ds.book, recount(state, ds)) == [], key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_rollout_book_equals_a_recount_after_every_event(history: list[tuple[Any, ...]]) -> None:
    s = Scenario()
    for op in history:
        _do(s, op)
        for key in sorted(s.state.daemon_sets):
            s.step(key)
    live = ClusterState()
    for event in s.events:
        live.apply(event)
        _check_books(live)
        _check_node_pods(live)


def _check_node_pods(state: ClusterState) -> None:
    """A registered node's pods are exactly the pods placed on it."""
    placed: dict[str, set[tuple[str, str]]] = {}
    for key, pod in state.pods.items():
        placed.setdefault(pod.node_name, set()).add(key)
    for name, node in state.nodes.items():
        assert node.pods == placed.get(name, set()), name
    assert not state.orphan_pods.keys() & state.nodes.keys()
    for name, keys in placed.items():
        if name not in state.nodes:  # a registering node takes these back
            assert state.orphan_pods.get(name) == keys, name
