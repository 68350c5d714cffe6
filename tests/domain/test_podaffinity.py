"""Pod (anti-)affinity: terms evaluated over the pods in the node's topology domain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.eligibility import compile_spec
from ctrlplane.domain.podaffinity import PodInfo, TopologyIndex, pod_affinity_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ZONE = "failure-domain.beta.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
DS = ("default", "agent")


def seed_spec() -> objects_pb2.PodSpec:
    data = yaml.safe_load((EXAMPLES / "pod-affinity-pod.yaml").read_text())
    pod = json_format.ParseDict(data, objects_pb2.Pod(), ignore_unknown_fields=False)
    return pod.spec


def make_spec(affinity: dict[str, Any]) -> objects_pb2.PodSpec:
    return json_format.ParseDict(
        {"affinity": affinity}, objects_pb2.PodSpec(), ignore_unknown_fields=False
    )


# Three nodes in zone z1 and z2, one without a zone label.
NODES = {
    "n1": {HOST: "n1", ZONE: "z1"},
    "n2": {HOST: "n2", ZONE: "z1"},
    "n3": {HOST: "n3", ZONE: "z2"},
    "n4": {HOST: "n4"},
}


def cluster(pods: dict[str, list[PodInfo]]) -> TopologyIndex:
    return TopologyIndex(NODES, pods)


def the_node(name: str) -> objects_pb2.Node:
    return objects_pb2.Node(metadata=objects_pb2.ObjectMeta(name=name, labels=NODES[name]))


def pod(ns: str = "default", owner: tuple[str, str] | None = None, **labels: str) -> PodInfo:
    return PodInfo(ns, labels, owner)


S1 = pod(security="S1")
S2 = pod(security="S2")


# ---- the seed's example ------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "pods", "should_run", "rule", "reason"),
    [
        pytest.param("n1", {"n2": [S1]}, True, "Eligible", "eligible", id="s1-elsewhere-in-zone"),
        pytest.param("n1", {"n1": [S1]}, True, "Eligible", "eligible", id="s1-on-the-node"),
        pytest.param(
            "n1",
            {"n3": [S1]},
            False,
            "PodAffinity",
            f"podAffinity term 0: no pod matching security In [S1] in {ZONE}=z1",
            id="s1-only-in-other-zone",
        ),
        pytest.param(
            "n4",
            {"n4": [S1]},
            False,
            "PodAffinity",
            f"podAffinity term 0: node has no label {ZONE}",
            id="node-missing-topology-key",
        ),
        pytest.param(
            "n1",
            {"n2": [pod("other", security="S1")]},
            False,
            "PodAffinity",
            f"podAffinity term 0: no pod matching security In [S1] in {ZONE}=z1",
            id="s1-in-other-namespace",
        ),
        pytest.param(
            "n1",
            {"n2": [S1], "n1": [S2]},
            True,
            "Eligible",
            "eligible",
            id="preferred-anti-affinity-never-blocks",
        ),
    ],
)
def test_seed_pod_affinity_example(
    target: str, pods: dict[str, list[PodInfo]], should_run: bool, rule: str, reason: str
) -> None:
    verdict = compile_spec("default", seed_spec()).evaluate(the_node(target), cluster(pods))
    assert (verdict.should_run, verdict.should_continue, verdict.rule, verdict.reason) == (
        should_run,
        True,  # IgnoredDuringExecution: a running pod always stays
        rule,
        reason,
    )


@pytest.mark.parametrize(
    ("pods", "score"),
    [
        pytest.param({"n2": [S1]}, 0, id="no-s2"),
        pytest.param({"n2": [S1], "n1": [S2]}, -100, id="s2-on-same-host"),
        pytest.param({"n2": [S1, S2]}, 0, id="s2-on-other-host"),
    ],
)
def test_seed_preferred_anti_affinity_score(pods: dict[str, list[PodInfo]], score: int) -> None:
    compiled = compile_spec("default", seed_spec())
    assert compiled.preferred_score(the_node("n1"), cluster(pods)) == score


# ---- a DaemonSet's anti-affinity to itself: one pod per zone -------------------------

ONE_PER_ZONE = {
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "agent"}}, "topologyKey": ZONE}
        ]
    }
}
OWN = pod(owner=DS, app="agent")


@pytest.mark.parametrize(
    ("target", "pods", "self_owner", "should_run", "reason"),
    [
        pytest.param("n1", {}, DS, True, "eligible", id="empty-zone"),
        pytest.param("n1", {"n1": [OWN]}, DS, True, "eligible", id="own-pod-on-this-node-ignored"),
        pytest.param(
            "n1",
            {"n2": [OWN]},
            DS,
            False,
            f"podAntiAffinity term 0: pod matching app=agent in {ZONE}=z1 (on node n2)",
            id="own-ds-on-another-node-of-the-zone",
        ),
        pytest.param(
            "n1",
            {"n1": [OWN], "n2": [OWN]},
            DS,
            False,
            f"podAntiAffinity term 0: pod matching app=agent in {ZONE}=z1 (on node n2)",
            id="own-here-and-on-another-node",
        ),
        pytest.param("n3", {"n2": [OWN]}, DS, True, "eligible", id="own-ds-in-other-zone"),
        pytest.param(
            "n4", {"n4": [pod(app="agent")]}, DS, True, "eligible", id="node-missing-key-passes"
        ),
        pytest.param(
            "n1",
            {"n1": [OWN]},
            None,
            False,
            f"podAntiAffinity term 0: pod matching app=agent in {ZONE}=z1 (on node n1)",
            id="without-self-owner-own-pod-counts",
        ),
        pytest.param(
            "n1",
            {"n1": [pod(app="agent")]},
            DS,
            False,
            f"podAntiAffinity term 0: pod matching app=agent in {ZONE}=z1 (on node n1)",
            id="static-pod-on-this-node-counts",
        ),
        pytest.param(
            "n1",
            {"n1": [pod(owner=("default", "other"), app="agent")]},
            DS,
            False,
            f"podAntiAffinity term 0: pod matching app=agent in {ZONE}=z1 (on node n1)",
            id="other-ds-on-this-node-counts",
        ),
    ],
)
def test_anti_affinity_to_own_daemon_set(
    target: str,
    pods: dict[str, list[PodInfo]],
    self_owner: tuple[str, str] | None,
    should_run: bool,
    reason: str,
) -> None:
    compiled = compile_spec("default", make_spec(ONE_PER_ZONE))
    verdict = compiled.evaluate(the_node(target), cluster(pods), self_owner)
    assert verdict.should_run is should_run
    assert verdict.should_continue is True
    assert verdict.reason == reason
    assert verdict.rule == ("Eligible" if should_run else "PodAntiAffinity")
    # The batch form caches domain counts and must agree.
    batch = compiled.batch(cluster(pods), self_owner)
    assert batch.evaluate(the_node(target)) == verdict


def test_batch_placing_one_by_one_gives_one_pod_per_zone() -> None:
    placed: dict[str, list[PodInfo]] = {}
    compiled = compile_spec("default", make_spec(ONE_PER_ZONE))
    batch = compiled.batch(cluster(placed), DS)
    for name in NODES:
        n = the_node(name)
        if batch.evaluate(n).should_run:
            placed.setdefault(name, []).append(OWN)
            batch.pods_changed(n)
    # n4 has no zone label, so anti-affinity cannot bind it.
    assert sorted(placed) == ["n1", "n3", "n4"]
    # Every placed pod may stay; n2 may not get one.
    assert all(batch.evaluate(the_node(n)).should_run for n in placed)
    assert not batch.evaluate(the_node("n2")).should_run


def test_affinity_to_static_pod_lands_on_its_node() -> None:
    spec = make_spec(
        {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"component": "etcd"}}, "topologyKey": HOST}
                ]
            }
        }
    )
    pods = cluster({"n2": [pod("kube-system", component="etcd")]})
    compiled = compile_spec("kube-system", spec)
    assert [n for n in NODES if compiled.evaluate(the_node(n), pods, DS).should_run] == ["n2"]


# ---- namespaces --------------------------------------------------------------------


def _affinity_with(term_extra: dict[str, Any]) -> objects_pb2.PodSpec:
    term = {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": ZONE, **term_extra}
    return make_spec({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}})


@pytest.mark.parametrize(
    ("extra", "pod_ns", "expected"),
    [
        pytest.param({}, "default", True, id="default-own-namespace"),
        pytest.param({}, "other", False, id="default-not-other-namespace"),
        pytest.param({"namespaces": ["other"]}, "other", True, id="listed-namespace"),
        pytest.param({"namespaces": ["other"]}, "default", False, id="listed-excludes-own"),
        pytest.param(
            {"namespaceSelector": {}}, "anything", True, id="empty-namespace-selector-all"
        ),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}},
            "other",
            True,
            id="namespace-selector-by-name",
        ),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}},
            "default",
            False,
            id="namespace-selector-by-name-excludes-own",
        ),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"team": "a"}}},
            "default",
            False,
            id="namespace-selector-unknown-label-selects-nothing",
        ),
        pytest.param(
            {"namespaces": ["x"], "namespaceSelector": {"matchLabels": {"team": "a"}}},
            "x",
            True,
            id="namespaces-ored-with-selector",
        ),
    ],
)
def test_namespaces(extra: dict[str, Any], pod_ns: str, expected: bool) -> None:
    compiled = compile_spec("default", _affinity_with(extra))
    pods = cluster({"n2": [pod(pod_ns, app="db")]})
    assert compiled.evaluate(the_node("n1"), pods).should_run is expected


def test_nil_label_selector_matches_no_pod() -> None:
    spec = make_spec(
        {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ZONE}]
            },
        }
    )
    pods = cluster({"n1": [pod(app="db")]})
    assert not compile_spec("default", spec).evaluate(the_node("n1"), pods).should_run


def test_preferred_affinity_and_anti_affinity_scores() -> None:
    spec = make_spec(
        {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 3,
                        "preference": {
                            "matchExpressions": [{"key": ZONE, "operator": "In", "values": ["z1"]}]
                        },
                    }
                ]
            },
            "podAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 20,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "cache"}},
                            "topologyKey": ZONE,
                        },
                    }
                ]
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 50,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "agent"}},
                            "topologyKey": ZONE,
                        },
                    }
                ]
            },
        }
    )
    compiled = compile_spec("default", spec)
    pods = cluster({"n2": [pod(app="cache"), OWN], "n3": [pod(app="cache")]})
    scores = {n: compiled.preferred_score(the_node(n), pods, DS) for n in NODES}
    assert scores == {"n1": 3 + 20 - 50, "n2": 3 + 20, "n3": 20, "n4": 0}
    batch = compiled.batch(pods, DS)
    assert {n: batch.preferred_score(the_node(n)) for n in NODES} == scores


def test_errors_name_their_paths() -> None:
    spec = make_spec(
        {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}
                ],
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 0, "podAffinityTerm": {"topologyKey": HOST}}
                ],
            }
        }
    )
    base = "spec.affinity.podAntiAffinity"
    assert [e.path for e in pod_affinity_errors(spec)] == [
        f"{base}.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        f"{base}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
        f"{base}.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0]",
    ]
    assert pod_affinity_errors(seed_spec()) == []


# ---- property: one pass with cached domains equals node-by-node evaluation -----------


@settings(max_examples=50, deadline=None)
@given(
    zones=st.lists(st.sampled_from(["z1", "z2", None]), min_size=1, max_size=6),
    placements=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["agent", "db"]), st.booleans()),
        max_size=8,
    ),
    anti=st.booleans(),
)
def test_batch_agrees_with_single_evaluation(
    zones: list[str | None], placements: list[tuple[int, str, bool]], anti: bool
) -> None:
    labels = {f"m{i}": {HOST: f"m{i}", **({ZONE: z} if z else {})} for i, z in enumerate(zones)}
    pods: dict[str, list[PodInfo]] = {}
    for index, app, own in placements:
        name = f"m{index % len(zones)}"
        pods.setdefault(name, []).append(pod(owner=DS if own else None, app=app))
    kind = "podAntiAffinity" if anti else "podAffinity"
    spec = make_spec(
        {
            kind: {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "agent"}}, "topologyKey": ZONE}
                ]
            }
        }
    )
    compiled = compile_spec("default", spec)
    topology = TopologyIndex(labels, pods)
    batch = compiled.batch(topology, DS)
    for name, node_labels in labels.items():
        n = objects_pb2.Node(metadata=objects_pb2.ObjectMeta(name=name, labels=node_labels))
        assert batch.evaluate(n) == compiled.evaluate(n, topology, DS)
