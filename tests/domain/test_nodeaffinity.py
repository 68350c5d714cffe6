"""Node affinity: required terms (ORed, expressions ANDed), matchFields, preferred scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.nodeaffinity import (
    compile_preferred,
    compile_required,
    node_affinity_errors,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_pod(name: str) -> objects_pb2.Pod:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    return json_format.ParseDict(data, objects_pb2.Pod(), ignore_unknown_fields=False)


def spec_with_terms(terms: list[dict[str, Any]]) -> objects_pb2.PodSpec:
    return json_format.ParseDict(
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
                }
            }
        },
        objects_pb2.PodSpec(),
        ignore_unknown_fields=False,
    )


def matches(terms: list[dict[str, Any]], labels: dict[str, str], name: str = "node-1") -> bool:
    return compile_required(spec_with_terms(terms)).first_match(labels, name) >= 0


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": op, "values": list(values)}


@pytest.mark.parametrize(
    ("expression", "labels", "expected"),
    [
        pytest.param(expr("zone", "In", "a", "b"), {"zone": "b"}, True, id="in"),
        pytest.param(expr("zone", "In", "a"), {"zone": "c"}, False, id="in-other-value"),
        pytest.param(expr("zone", "In", "a"), {}, False, id="in-absent"),
        pytest.param(expr("zone", "NotIn", "a"), {"zone": "c"}, True, id="notin"),
        pytest.param(expr("zone", "NotIn", "a"), {"zone": "a"}, False, id="notin-same"),
        pytest.param(expr("zone", "NotIn", "a"), {}, True, id="notin-absent-matches"),
        pytest.param(expr("gpu", "Exists"), {"gpu": ""}, True, id="exists"),
        pytest.param(expr("gpu", "Exists"), {}, False, id="exists-absent"),
        pytest.param(expr("gpu", "DoesNotExist"), {}, True, id="does-not-exist"),
        pytest.param(expr("gpu", "DoesNotExist"), {"gpu": "1"}, False, id="does-not-exist-present"),
        pytest.param(expr("cores", "Gt", "4"), {"cores": "8"}, True, id="gt"),
        pytest.param(expr("cores", "Gt", "8"), {"cores": "8"}, False, id="gt-equal"),
        pytest.param(
            expr("cores", "Gt", "4"), {"cores": "eight"}, False, id="gt-non-integer-label"
        ),
        pytest.param(expr("cores", "Gt", "4"), {"cores": "8.0"}, False, id="gt-float-label"),
        pytest.param(expr("cores", "Gt", "4"), {}, False, id="gt-absent"),
        pytest.param(expr("cores", "Lt", "4"), {"cores": "-1"}, True, id="lt-negative"),
        pytest.param(expr("cores", "Lt", "4"), {"cores": "4"}, False, id="lt-equal"),
        pytest.param(expr("cores", "Lt", "4"), {"cores": "x"}, False, id="lt-non-integer-label"),
        pytest.param(expr("cores", "Gt", "four"), {"cores": "8"}, False, id="gt-non-integer-value"),
        pytest.param(expr("cores", "Gt", "1", "2"), {"cores": "8"}, False, id="gt-two-values"),
        pytest.param(expr("zone", "In"), {"zone": ""}, False, id="in-without-values"),
        pytest.param(expr("zone", "Near", "a"), {"zone": "a"}, False, id="unknown-operator"),
    ],
)
def test_operators(expression: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert matches([{"matchExpressions": [expression]}], labels) is expected


@pytest.mark.parametrize(
    ("terms", "labels", "name", "expected"),
    [
        pytest.param([], {"a": "b"}, "n", False, id="empty-term-list-matches-nothing"),
        pytest.param([{}], {"a": "b"}, "n", False, id="empty-term-matches-nothing"),
        pytest.param(
            [{}, {"matchExpressions": [expr("a", "Exists")]}],
            {"a": "b"},
            "n",
            True,
            id="empty-term-does-not-spoil-others",
        ),
        pytest.param(
            [
                {"matchExpressions": [expr("a", "In", "x")]},
                {"matchExpressions": [expr("b", "In", "y")]},
            ],
            {"b": "y"},
            "n",
            True,
            id="terms-ored",
        ),
        pytest.param(
            [{"matchExpressions": [expr("a", "In", "x"), expr("b", "In", "y")]}],
            {"b": "y"},
            "n",
            False,
            id="expressions-anded",
        ),
        pytest.param(
            [
                {"matchExpressions": [expr("a", "Gt", "x")]},
                {"matchExpressions": [expr("b", "Exists")]},
            ],
            {"a": "5", "b": ""},
            "n",
            True,
            id="malformed-term-skipped",
        ),
        pytest.param(
            [{"matchFields": [expr("metadata.name", "In", "node-1")]}],
            {},
            "node-1",
            True,
            id="match-fields-name-in",
        ),
        pytest.param(
            [{"matchFields": [expr("metadata.name", "In", "node-1")]}],
            {},
            "node-2",
            False,
            id="match-fields-name-in-other",
        ),
        pytest.param(
            [{"matchFields": [expr("metadata.name", "NotIn", "node-1")]}],
            {},
            "node-2",
            True,
            id="match-fields-name-notin",
        ),
        pytest.param(
            [{"matchFields": [expr("metadata.name", "In", "node-1", "node-2")]}],
            {},
            "node-1",
            False,
            id="match-fields-needs-one-value",
        ),
        pytest.param(
            [{"matchFields": [expr("metadata.uid", "In", "x")]}],
            {},
            "x",
            False,
            id="match-fields-other-field",
        ),
        pytest.param(
            [{"matchFields": [expr("metadata.name", "Exists")]}],
            {},
            "x",
            False,
            id="match-fields-exists-unsupported",
        ),
        pytest.param(
            [
                {
                    "matchExpressions": [expr("a", "In", "x")],
                    "matchFields": [expr("metadata.name", "In", "node-1")],
                }
            ],
            {"a": "x"},
            "node-2",
            False,
            id="fields-and-expressions-anded",
        ),
    ],
)
def test_terms(
    terms: list[dict[str, Any]], labels: dict[str, str], name: str, expected: bool
) -> None:
    assert matches(terms, labels, name) is expected


def test_no_required_affinity_is_no_constraint() -> None:
    required = compile_required(objects_pb2.PodSpec())
    assert required.terms is None
    assert required.first_match({}, "n") == 0


# ---- the seed's example ---------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "term", "score"),
    [
        pytest.param({"kubernetes.io/e2e-az-name": "e2e-az1"}, 0, 0, id="az1"),
        pytest.param({"kubernetes.io/e2e-az-name": "e2e-az2"}, 0, 0, id="az2"),
        pytest.param({"kubernetes.io/e2e-az-name": "e2e-az3"}, -1, 0, id="az3-excluded"),
        pytest.param({}, -1, 0, id="no-zone-label"),
        pytest.param(
            {
                "kubernetes.io/e2e-az-name": "e2e-az1",
                "another-node-label-key": "another-node-label-value",
            },
            0,
            1,
            id="az1-preferred",
        ),
        pytest.param(
            {"another-node-label-key": "another-node-label-value"},
            -1,
            1,
            id="preferred-alone-scores-but-not-eligible",
        ),
    ],
)
def test_seed_node_affinity_example(labels: dict[str, str], term: int, score: int) -> None:
    spec = load_pod("node-affinity-pod.yaml").spec
    assert compile_required(spec).first_match(labels, "node-1") == term
    assert compile_preferred(spec).score(labels, "node-1") == score


def test_preferred_weights_add_up_and_skip_empty_terms() -> None:
    spec = json_format.ParseDict(
        {
            "affinity": {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 10, "preference": {"matchExpressions": [expr("a", "Exists")]}},
                        {"weight": 5, "preference": {"matchExpressions": [expr("b", "In", "1")]}},
                        {"weight": 7, "preference": {}},
                    ]
                }
            }
        },
        objects_pb2.PodSpec(),
    )
    preferred = compile_preferred(spec)
    assert preferred.score({"a": "", "b": "1"}, "n") == 15
    assert preferred.score({"a": ""}, "n") == 10
    assert preferred.score({}, "n") == 0


def test_errors_name_their_paths() -> None:
    spec = spec_with_terms(
        [
            {"matchExpressions": [expr("cores", "Gt", "many")]},
            {"matchFields": [expr("metadata.uid", "In", "x")]},
        ]
    )
    errors = node_affinity_errors(spec)
    base = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    assert [e.path for e in errors] == [
        f"{base}.nodeSelectorTerms[0].matchExpressions[0]",
        f"{base}.nodeSelectorTerms[1].matchFields[0].key",
    ]
    assert "must be an integer" in errors[0].message
    assert node_affinity_errors(load_pod("node-affinity-pod.yaml").spec) == []
