"""The verdict for a (spec, node) pair: should_run / should_continue as NodeShouldRunDaemonPod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.eligibility import (
    ELIGIBLE,
    Verdict,
    compile_spec,
    evaluate,
    preferred_score,
    scheduling_errors,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The seed's nodeSelector example, as written there: `kubectl label nodes node-01
# disktype=ssd`, then the DaemonSet's pod spec carries `nodeSelector: {disktype: ssd}`.
SEED_NODE_SELECTOR = """
spec:
  nodeSelector:
    disktype: ssd
"""


def spec_from(data: dict[str, Any]) -> objects_pb2.PodSpec:
    return json_format.ParseDict(data, objects_pb2.PodSpec(), ignore_unknown_fields=False)


def seed_selector_spec() -> objects_pb2.PodSpec:
    return spec_from(yaml.safe_load(SEED_NODE_SELECTOR)["spec"])


def example_spec(name: str) -> objects_pb2.PodSpec:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    return json_format.ParseDict(data, objects_pb2.Pod(), ignore_unknown_fields=False).spec


def node(
    name: str = "node-01",
    labels: dict[str, str] | None = None,
    taints: list[str] | None = None,
    *,
    unschedulable: bool = False,
) -> objects_pb2.Node:
    parsed = []
    for text in taints or []:
        key_value, effect = text.split(":")
        key, _, value = key_value.partition("=")
        parsed.append(objects_pb2.Taint(key=key, value=value, effect=effect))
    return objects_pb2.Node(
        metadata=objects_pb2.ObjectMeta(name=name, labels=labels or {}),
        spec=objects_pb2.NodeSpec(unschedulable=unschedulable, taints=parsed),
    )


def verdict_of(spec: objects_pb2.PodSpec, n: objects_pb2.Node) -> tuple[bool, bool, str, str]:
    v = evaluate(n, "default", spec)
    return v.should_run, v.should_continue, v.rule, v.reason


SSD = {"disktype": "ssd"}


@pytest.mark.parametrize(
    ("spec", "the_node", "expected"),
    [
        pytest.param(
            seed_selector_spec(),
            node(labels=SSD),
            (True, True, "Eligible", "eligible"),
            id="seed-node-selector-ssd",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels={"disktype": "hdd"}),
            (False, False, "NodeSelector", "nodeSelector disktype=ssd: node has disktype=hdd"),
            id="seed-node-selector-hdd",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels={}),
            (False, False, "NodeSelector", "nodeSelector disktype=ssd: node has no label disktype"),
            id="seed-node-selector-unlabelled",
        ),
        pytest.param(
            spec_from({"nodeSelector": {"disktype": "ssd", "zone": "a"}}),
            node(labels={"disktype": "ssd", "zone": "b"}),
            (False, False, "NodeSelector", "nodeSelector zone=a: node has zone=b"),
            id="node-selector-every-key",
        ),
        pytest.param(
            spec_from({"nodeName": "node-02"}),
            node(),
            (False, False, "NodeName", "spec.nodeName is node-02"),
            id="node-name-elsewhere",
        ),
        pytest.param(
            spec_from({"nodeName": "node-01"}),
            node(),
            (True, True, "Eligible", "eligible"),
            id="node-name-here",
        ),
        pytest.param(
            example_spec("node-affinity-pod.yaml"),
            node(labels={"kubernetes.io/e2e-az-name": "e2e-az2"}),
            (
                True,
                True,
                "Eligible",
                "required nodeAffinity term 0 matched"
                " (kubernetes.io/e2e-az-name In [e2e-az1 e2e-az2])",
            ),
            id="seed-node-affinity-az2",
        ),
        pytest.param(
            example_spec("node-affinity-pod.yaml"),
            node(labels={"kubernetes.io/e2e-az-name": "e2e-az3"}),
            (
                False,
                False,
                "NodeAffinity",
                "required nodeAffinity: node matches no term: term 0"
                " (kubernetes.io/e2e-az-name In [e2e-az1 e2e-az2])",
            ),
            id="seed-node-affinity-az3",
        ),
        pytest.param(
            spec_from(
                {
                    "affinity": {
                        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}
                    }
                }
            ),
            node(),
            (False, False, "NodeAffinity", "required nodeAffinity: node matches no term"),
            id="empty-term-list-matches-nothing",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels=SSD, taints=["dedicated=gpu:NoSchedule"]),
            (False, True, "Taint", "taint dedicated=gpu:NoSchedule not tolerated"),
            id="no-schedule-blocks-new-keeps-running",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels=SSD, taints=["dedicated=gpu:NoExecute"]),
            (False, False, "Taint", "taint dedicated=gpu:NoExecute not tolerated"),
            id="no-execute-evicts",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels=SSD, taints=["a=1:NoSchedule", "b=2:NoExecute"]),
            (False, False, "Taint", "taint b=2:NoExecute not tolerated"),
            id="no-execute-wins-over-no-schedule",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels=SSD, taints=["dedicated=gpu:PreferNoSchedule"]),
            (True, True, "Eligible", "eligible"),
            id="prefer-no-schedule-never-blocks",
        ),
        pytest.param(
            spec_from({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]}),
            node(taints=["dedicated=gpu:NoSchedule", "dedicated=gpu:NoExecute"]),
            (True, True, "Eligible", "eligible"),
            id="user-toleration-all-effects",
        ),
        pytest.param(
            spec_from({"tolerations": [{"operator": "Exists"}]}),
            node(taints=["x=1:NoExecute", "y:NoSchedule"]),
            (True, True, "Eligible", "eligible"),
            id="exists-with-empty-key-tolerates-all",
        ),
        pytest.param(
            seed_selector_spec(),
            node(labels={"disktype": "hdd"}, taints=["dedicated=gpu:NoExecute"]),
            (False, False, "NodeSelector", "nodeSelector disktype=ssd: node has disktype=hdd"),
            id="selector-decides-before-taints",
        ),
        pytest.param(
            spec_from({}),
            node(unschedulable=True, taints=["node.kubernetes.io/unschedulable:NoSchedule"]),
            (True, True, "Eligible", "eligible"),
            id="unschedulable-ignored",
        ),
        pytest.param(
            spec_from({}),
            node(taints=["node.kubernetes.io/not-ready:NoExecute"]),
            (True, True, "Eligible", "eligible"),
            id="default-toleration-not-ready",
        ),
        pytest.param(
            spec_from({}),
            node(taints=["node.kubernetes.io/unreachable:NoExecute"]),
            (True, True, "Eligible", "eligible"),
            id="default-toleration-unreachable",
        ),
        pytest.param(
            spec_from({}),
            node(
                taints=[
                    "node.kubernetes.io/disk-pressure:NoSchedule",
                    "node.kubernetes.io/memory-pressure:NoSchedule",
                    "node.kubernetes.io/pid-pressure:NoSchedule",
                ]
            ),
            (True, True, "Eligible", "eligible"),
            id="default-tolerations-pressure",
        ),
        pytest.param(
            spec_from({}),
            node(taints=["node.kubernetes.io/not-ready:NoSchedule"]),
            (False, True, "Taint", "taint node.kubernetes.io/not-ready:NoSchedule not tolerated"),
            id="default-not-ready-toleration-is-no-execute-only",
        ),
        pytest.param(
            spec_from({}),
            node(taints=["node.kubernetes.io/network-unavailable:NoSchedule"]),
            (
                False,
                True,
                "Taint",
                "taint node.kubernetes.io/network-unavailable:NoSchedule not tolerated",
            ),
            id="network-unavailable-blocks-pod-network",
        ),
        pytest.param(
            spec_from({"hostNetwork": True}),
            node(taints=["node.kubernetes.io/network-unavailable:NoSchedule"]),
            (True, True, "Eligible", "eligible"),
            id="network-unavailable-tolerated-host-network",
        ),
    ],
)
def test_rules(
    spec: objects_pb2.PodSpec, the_node: objects_pb2.Node, expected: tuple[bool, bool, str, str]
) -> None:
    assert verdict_of(spec, the_node) == expected


def test_pod_affinity_failure_keeps_running_pod() -> None:
    spec = example_spec("pod-affinity-pod.yaml")
    verdict = evaluate(
        node(labels={"failure-domain.beta.kubernetes.io/zone": "z1"}), "default", spec
    )
    assert verdict == Verdict(
        False,
        True,
        "podAffinity term 0: no pod matching security In [S1] in"
        " failure-domain.beta.kubernetes.io/zone=z1",
        "PodAffinity",
    )


def test_common_verdicts_are_shared_objects() -> None:
    compiled = compile_spec("default", seed_selector_spec())
    a = compiled.evaluate(node("a", SSD))
    b = compiled.evaluate(node("b", SSD))
    assert a is b is ELIGIBLE
    hdd1 = compiled.evaluate(node("c", {"disktype": "hdd"}))
    hdd2 = compiled.evaluate(node("d", {"disktype": "hdd"}))
    assert hdd1 is hdd2
    tainted = node("e", SSD, ["x=1:NoSchedule"])
    assert compiled.evaluate(tainted) is compiled.evaluate(tainted)


def test_preferred_score_wrapper() -> None:
    spec = example_spec("node-affinity-pod.yaml")
    both = {
        "kubernetes.io/e2e-az-name": "e2e-az1",
        "another-node-label-key": "another-node-label-value",
    }
    assert preferred_score(node(labels=both), "default", spec) == 1
    assert preferred_score(node(labels={}), "default", spec) == 0


def test_scheduling_errors_collects_every_part() -> None:
    spec = spec_from(
        {
            "nodeSelector": {"disk type": "ssd"},
            "tolerations": [{"key": "a", "operator": "Exists", "value": "x"}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "a", "operator": "Gt"}]}
                        ]
                    }
                },
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ""}]
                },
            },
        }
    )
    paths = [e.path for e in scheduling_errors(spec)]
    assert paths == [
        "spec.nodeSelector[disk type]",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0]",
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
        "spec.tolerations[0].value",
    ]
    for name in ("node-affinity-pod.yaml", "pod-affinity-pod.yaml"):
        assert scheduling_errors(example_spec(name)) == []


# ---- properties ---------------------------------------------------------------------

_effects = st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"])
_taints = st.lists(
    st.builds(
        lambda k, v, e: f"{k}={v}:{e}" if v else f"{k}:{e}",
        st.sampled_from(["a", "b", "node.kubernetes.io/not-ready"]),
        st.sampled_from(["", "1"]),
        _effects,
    ),
    max_size=3,
)
_tolerations = st.lists(
    st.fixed_dictionaries(
        {
            "key": st.sampled_from(["", "a", "b"]),
            "operator": st.sampled_from(["Equal", "Exists"]),
            "effect": st.sampled_from(["", "NoSchedule", "NoExecute"]),
        }
    ),
    max_size=2,
)


@settings(max_examples=100, deadline=None)
@given(
    selector=st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(["1", "2"]), max_size=2),
    labels=st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(["1", "2"]), max_size=2),
    taints=_taints,
    tolerations=_tolerations,
)
def test_should_run_implies_should_continue(
    selector: dict[str, str],
    labels: dict[str, str],
    taints: list[str],
    tolerations: list[dict[str, str]],
) -> None:
    spec = spec_from({"nodeSelector": selector, "tolerations": tolerations})
    verdict = evaluate(node(labels=labels, taints=taints), "default", spec)
    assert verdict.should_continue or not verdict.should_run
    # A spec that tolerates everything is decided by its selector alone.
    tolerant = spec_from({"nodeSelector": selector, "tolerations": [{"operator": "Exists"}]})
    matches = all(labels.get(k) == v for k, v in selector.items())
    assert evaluate(node(labels=labels, taints=taints), "default", tolerant).should_run is matches
