"""Tolerations against taints, the DaemonSet default tolerations, kubectl taint syntax."""

from __future__ import annotations

import pytest

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FailedPrecondition, InvalidSpec
from ctrlplane.domain.taints import (
    TaintRemoval,
    Tolerations,
    apply_taint_changes,
    daemon_set_tolerations,
    format_taint,
    parse_taint_specs,
    tolerates,
    toleration_errors,
)

T = objects_pb2.Toleration


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> objects_pb2.Taint:
    return objects_pb2.Taint(key=key, value=value, effect=effect)


@pytest.mark.parametrize(
    ("toleration", "the_taint", "expected"),
    [
        pytest.param(
            T(key="dedicated", operator="Equal", value="gpu", effect="NoSchedule"),
            taint("dedicated", "gpu"),
            True,
            id="equal",
        ),
        pytest.param(
            T(key="dedicated", value="gpu", effect="NoSchedule"),
            taint("dedicated", "gpu"),
            True,
            id="empty-operator-is-equal",
        ),
        pytest.param(
            T(key="dedicated", operator="Equal", value="cpu", effect="NoSchedule"),
            taint("dedicated", "gpu"),
            False,
            id="equal-other-value",
        ),
        pytest.param(
            T(key="dedicated", operator="Exists", effect="NoSchedule"),
            taint("dedicated", "gpu"),
            True,
            id="exists-any-value",
        ),
        pytest.param(
            T(key="other", operator="Exists", effect="NoSchedule"),
            taint("dedicated", "gpu"),
            False,
            id="exists-other-key",
        ),
        pytest.param(
            T(operator="Exists"),
            taint("anything", "x", "NoExecute"),
            True,
            id="empty-key-exists-tolerates-all",
        ),
        pytest.param(
            T(key="dedicated", operator="Exists"),
            taint("dedicated", "gpu", "NoExecute"),
            True,
            id="empty-effect-matches-all-effects",
        ),
        pytest.param(
            T(key="dedicated", operator="Exists", effect="NoSchedule"),
            taint("dedicated", "gpu", "NoExecute"),
            False,
            id="effect-mismatch",
        ),
        pytest.param(
            T(key="dedicated", operator="Below", effect="NoSchedule"),
            taint("dedicated", "gpu"),
            False,
            id="unknown-operator",
        ),
    ],
)
def test_tolerates(
    toleration: objects_pb2.Toleration, the_taint: objects_pb2.Taint, expected: bool
) -> None:
    assert tolerates(toleration, the_taint) is expected


DEFAULTS = [
    ("node.kubernetes.io/not-ready", "Exists", "NoExecute"),
    ("node.kubernetes.io/unreachable", "Exists", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "Exists", "NoSchedule"),
]


def _triples(tolerations: list[objects_pb2.Toleration]) -> list[tuple[str, str, str]]:
    return [(t.key, t.operator, t.effect) for t in tolerations]


def test_daemon_set_default_tolerations() -> None:
    assert _triples(daemon_set_tolerations(objects_pb2.PodSpec())) == DEFAULTS


def test_host_network_adds_network_unavailable() -> None:
    got = _triples(daemon_set_tolerations(objects_pb2.PodSpec(host_network=True)))
    assert got == [*DEFAULTS, ("node.kubernetes.io/network-unavailable", "Exists", "NoSchedule")]


def test_user_tolerations_kept_and_identical_default_replaced_in_place() -> None:
    spec = objects_pb2.PodSpec(
        tolerations=[
            T(key="dedicated", operator="Equal", value="gpu", effect="NoSchedule"),
            T(
                key="node.kubernetes.io/not-ready",
                operator="Exists",
                effect="NoExecute",
                toleration_seconds=30,
            ),
        ]
    )
    got = daemon_set_tolerations(spec)
    assert _triples(got) == [("dedicated", "Equal", "NoSchedule"), *DEFAULTS]
    # Kubernetes overwrites the user's copy with its own (no tolerationSeconds).
    assert got[1].toleration_seconds == 0
    assert len(spec.tolerations) == 2  # the spec itself is not touched


def test_compiled_tolerations_find_first_untolerated() -> None:
    tolerations = Tolerations(daemon_set_tolerations(objects_pb2.PodSpec()))
    taints = [
        taint("node.kubernetes.io/not-ready", effect="NoExecute"),
        taint("dedicated", "gpu", "PreferNoSchedule"),
        taint("dedicated", "gpu", "NoSchedule"),
    ]
    assert tolerations.first_untolerated(taints, ("NoExecute",)) is None
    assert tolerations.first_untolerated(taints, ("NoSchedule", "NoExecute")) == taints[2]


# ---- kubectl taint syntax --------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "added", "removed"),
    [
        pytest.param(
            ["dedicated=gpu:NoSchedule"], ["dedicated=gpu:NoSchedule"], [], id="key-value-effect"
        ),
        pytest.param(["dedicated:NoExecute"], ["dedicated:NoExecute"], [], id="key-effect"),
        pytest.param(["dedicated-"], [], [TaintRemoval("dedicated")], id="remove-key"),
        pytest.param(
            ["dedicated:NoSchedule-"],
            [],
            [TaintRemoval("dedicated", "NoSchedule")],
            id="remove-key-effect",
        ),
        pytest.param(
            ["dedicated=gpu:NoSchedule-"],
            [],
            [TaintRemoval("dedicated", "NoSchedule")],
            id="remove-ignores-value",
        ),
        pytest.param(
            ["a=1:NoSchedule", "a=1:NoExecute", "b-"],
            ["a=1:NoSchedule", "a=1:NoExecute"],
            [TaintRemoval("b")],
            id="several",
        ),
    ],
)
def test_parse_taint_specs(specs: list[str], added: list[str], removed: list[TaintRemoval]) -> None:
    to_add, to_remove = parse_taint_specs(specs)
    assert [format_taint(t) for t in to_add] == added
    assert to_remove == removed


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        pytest.param(["dedicated=gpu"], "an effect is required", id="no-effect"),
        pytest.param(["dedicated=gpu:Sometimes"], "unknown effect 'Sometimes'", id="bad-effect"),
        pytest.param(["a=b=c:NoSchedule"], "more than one '='", id="two-equals"),
        pytest.param(["a:b:NoSchedule"], "more than one ':'", id="two-colons"),
        pytest.param(["-a:NoSchedule"], "invalid label key", id="bad-key"),
        pytest.param(["a=b c:NoSchedule"], "invalid label value", id="bad-value"),
        pytest.param(["a=1:NoSchedule", "a=2:NoSchedule"], "duplicated taint", id="duplicate"),
        pytest.param(["a=1:NoSchedule", "a-"], "both modify and remove", id="add-and-remove"),
        pytest.param([":NoSchedule-"], "invalid label key", id="remove-empty-key"),
    ],
)
def test_parse_taint_spec_errors(specs: list[str], message: str) -> None:
    with pytest.raises(InvalidSpec, match=message) as info:
        parse_taint_specs(specs, path="taints")
    assert info.value.errors[0].path == "taints"


def test_apply_taint_changes() -> None:
    current = [
        taint("a", "1", "NoSchedule"),
        taint("b", "", "NoExecute"),
        taint("b", "", "NoSchedule"),
    ]
    add, remove = parse_taint_specs(["c=3:PreferNoSchedule", "b:NoSchedule-"])
    got = apply_taint_changes("n1", current, add, remove)
    assert [format_taint(t) for t in got] == [
        "a=1:NoSchedule",
        "b:NoExecute",
        "c=3:PreferNoSchedule",
    ]
    add, remove = parse_taint_specs(["b-"])
    assert [format_taint(t) for t in apply_taint_changes("n1", current, add, remove)] == [
        "a=1:NoSchedule"
    ]


def test_same_key_and_effect_needs_overwrite() -> None:
    current = [taint("a", "1", "NoSchedule")]
    add, _ = parse_taint_specs(["a=2:NoSchedule"])
    with pytest.raises(FailedPrecondition, match="--overwrite is false"):
        apply_taint_changes("n1", current, add, [])
    got = apply_taint_changes("n1", current, add, [], overwrite=True)
    assert [format_taint(t) for t in got] == ["a=2:NoSchedule"]
    # Same key, another effect: a second taint, no overwrite needed.
    add, _ = parse_taint_specs(["a=2:NoExecute"])
    assert len(apply_taint_changes("n1", current, add, [])) == 2


def test_removing_absent_taint_is_an_error() -> None:
    _, remove = parse_taint_specs(["zzz:NoSchedule-"])
    with pytest.raises(FailedPrecondition, match='taint "zzz:NoSchedule" not found on node n1'):
        apply_taint_changes("n1", [taint("zzz", effect="NoExecute")], [], remove)


@pytest.mark.parametrize(
    ("toleration", "path"),
    [
        pytest.param(
            T(key="a", operator="Exists", value="x"), "t[0].value", id="exists-with-value"
        ),
        pytest.param(T(operator="Equal", value="x"), "t[0].operator", id="empty-key-needs-exists"),
        pytest.param(T(key="a", operator="Near"), "t[0].operator", id="unknown-operator"),
        pytest.param(
            T(key="a", operator="Exists", effect="Never"), "t[0].effect", id="unknown-effect"
        ),
        pytest.param(
            T(key="a", operator="Exists", effect="NoSchedule", toleration_seconds=5),
            "t[0].tolerationSeconds",
            id="seconds-only-for-no-execute",
        ),
        pytest.param(T(key="-a", operator="Exists"), "t[0].key", id="bad-key"),
    ],
)
def test_toleration_errors(toleration: objects_pb2.Toleration, path: str) -> None:
    assert [e.path for e in toleration_errors([toleration], "t")] == [path]


def test_valid_tolerations_have_no_errors() -> None:
    assert (
        toleration_errors(daemon_set_tolerations(objects_pb2.PodSpec(host_network=True)), "t") == []
    )
