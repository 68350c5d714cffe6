"""Pure tests of dsctl's argument forms: resources, refs, durations, labels, taints."""

from __future__ import annotations

import argparse

import pytest

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.cli.args import (
    DAEMON_SETS,
    NODES,
    PODS,
    Target,
    UsageError,
    parse_bool,
    parse_duration,
    parse_ref,
    parse_targets,
)
from ctrlplane.cli.events_cmd import streams_of
from ctrlplane.cli.nodes import parse_label_args, parse_taint_args, split_node_args
from ctrlplane.cli.resources import change_cause


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param(["ds"], [Target(DAEMON_SETS, ())], id="alias"),
        pytest.param(["daemonsets.apps", "a", "b"], [Target(DAEMON_SETS, ("a", "b"))],
                     id="qualified-with-names"),
        pytest.param(["ds,pods,nodes"], [Target(DAEMON_SETS, ()), Target(PODS, ()),
                                         Target(NODES, ())], id="comma-list"),
        pytest.param(["po,pod"], [Target(PODS, ())], id="comma-list-repeats"),
        pytest.param(
            ["ds/fluentd", "no/node-1"],
            [Target(DAEMON_SETS, ("fluentd",)), Target(NODES, ("node-1",))],
            id="type-slash-name",
        ),
    ],
)
def test_parse_targets(words: list[str], expected: list[Target]) -> None:
    assert parse_targets(words) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        pytest.param(["deployments"], "doesn't have a resource type", id="unknown-kind"),
        pytest.param(["ds,pods", "x"], "more than one resource type", id="names-with-many-kinds"),
        pytest.param(["ds/a", "b"], "resource/name form", id="mixed-forms"),
        pytest.param([], "specify the type", id="nothing"),
    ],
)
def test_parse_targets_errors(words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_targets(words)


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(["ds/fluentd"], id="ds-slash"),
        pytest.param(["daemonset/fluentd"], id="daemonset-slash"),
        pytest.param(["daemonset", "fluentd"], id="two-words"),
        pytest.param(["daemonsets.apps", "fluentd"], id="qualified"),
    ],
)
def test_parse_ref_forms(words: list[str]) -> None:
    assert parse_ref(words) == "fluentd"


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(["fluentd"], id="name-only"),
        pytest.param(["pod/fluentd"], id="wrong-kind"),
        pytest.param(["ds", "a", "b"], id="too-many"),
    ],
)
def test_parse_ref_errors(words: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_ref(words)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("0", 0.0, id="zero"),
        pytest.param("30s", 30.0, id="seconds"),
        pytest.param("5m", 300.0, id="minutes"),
        pytest.param("1h30m", 5400.0, id="compound"),
        pytest.param("1.5s", 1.5, id="fraction"),
        pytest.param("250ms", 0.25, id="millis"),
        pytest.param("45", 45.0, id="bare-number-as-seconds"),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [pytest.param("5x", id="unit"), pytest.param("m5", id="order")])
def test_parse_duration_errors(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [pytest.param("false", False, id="false"), pytest.param("True", True, id="true"),
     pytest.param("0", False, id="zero")],
)
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_label_args() -> None:
    change = parse_label_args(["disktype=ssd", "zone-", "empty="])
    assert change.set == {"disktype": "ssd", "empty": ""}
    assert change.remove == ["zone"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        pytest.param(["justakey"], "invalid label spec", id="no-equals"),
        pytest.param(["=v"], "invalid label spec", id="no-key"),
        pytest.param(["a=1", "a-"], "both modify and remove", id="set-and-remove"),
        pytest.param([], "at least one label update", id="nothing"),
    ],
)
def test_label_arg_errors(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_label_args(specs)


def taint(key: str, value: str = "", effect: str = "") -> objects_pb2.Taint:
    return objects_pb2.Taint(key=key, value=value, effect=effect)


@pytest.mark.parametrize(
    ("specs", "add", "remove"),
    [
        pytest.param(["gpu=yes:NoSchedule"], [taint("gpu", "yes", "NoSchedule")], [],
                     id="key-value-effect"),
        pytest.param(["dedicated:NoExecute"], [taint("dedicated", "", "NoExecute")], [],
                     id="key-effect"),
        pytest.param(["gpu:NoSchedule-"], [], [taint("gpu", "", "NoSchedule")],
                     id="remove-with-effect"),
        pytest.param(["gpu-"], [], [taint("gpu")], id="remove-all-effects"),
        pytest.param(["gpu=yes:NoSchedule-"], [], [taint("gpu", "", "NoSchedule")],
                     id="remove-ignores-value"),
        pytest.param(["a=1:PreferNoSchedule", "b-"], [taint("a", "1", "PreferNoSchedule")],
                     [taint("b")], id="add-and-remove-others"),
    ],
)
def test_taint_args(specs: list[str], add: list[objects_pb2.Taint],
                    remove: list[objects_pb2.Taint]) -> None:
    change = parse_taint_args(specs)
    assert list(change.add) == add
    assert list(change.remove) == remove


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        pytest.param(["gpu=yes"], "invalid taint spec", id="no-effect"),
        pytest.param(["gpu=yes:Sometimes"], "invalid taint effect", id="bad-effect"),
        pytest.param(["gpu:Bad-"], "invalid taint effect", id="bad-effect-on-remove"),
        pytest.param(["gpu:NoSchedule", "gpu-"], "both modify and remove", id="clash"),
        pytest.param([], "at least one taint update", id="nothing"),
    ],
)
def test_taint_arg_errors(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_taint_args(specs)


@pytest.mark.parametrize(
    ("words", "name", "rest"),
    [
        pytest.param(["nodes", "n1", "a=b"], "n1", ["a=b"], id="two-words"),
        pytest.param(["node/n1", "a-"], "n1", ["a-"], id="slash"),
    ],
)
def test_split_node_args(words: list[str], name: str, rest: list[str]) -> None:
    assert split_node_args(words) == (name, rest)


def test_split_node_args_refuses_other_kinds() -> None:
    with pytest.raises(UsageError, match="only nodes"):
        split_node_args(["ds", "fluentd", "a=b"])


@pytest.mark.parametrize(
    ("words", "namespace", "streams"),
    [
        pytest.param(["ds/fluentd"], "", {"daemonset/default/fluentd"}, id="daemon-set"),
        pytest.param(["daemonset/x", "node/n1"], "kube-system",
                     {"daemonset/kube-system/x", "node/n1"}, id="namespace-and-node"),
        pytest.param([], "", set(), id="none"),
    ],
)
def test_event_stream_filters(words: list[str], namespace: str, streams: set[str]) -> None:
    assert streams_of(words, namespace) == streams


@pytest.mark.parametrize("word", [pytest.param("fluentd", id="no-kind"),
                                  pytest.param("pod/x", id="pod")])
def test_event_stream_filter_errors(word: str) -> None:
    with pytest.raises(UsageError):
        streams_of([word], "")


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--server", "h:1", "apply", "-f", "x.yaml", "--record"], id="flag-first"),
        pytest.param(["apply", "-f", "x.yaml", "-s", "h:1", "--record"], id="short-after"),
        pytest.param(["apply", "--server=h:1", "-f", "x.yaml", "--record"], id="equals"),
    ],
)
def test_recorded_change_cause_leaves_out_the_server(argv: list[str]) -> None:
    args = argparse.Namespace(change_cause="", record=True)
    assert change_cause(args, argv) == "dsctl apply -f x.yaml --record"
