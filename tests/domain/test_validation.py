"""Validation as Kubernetes does it: a table of invalid manifests, each with its field path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.manifests import load_manifests, prepare_daemon_set
from ctrlplane.domain.validation import (
    daemon_set_errors,
    daemon_set_update_errors,
    label_key_errors,
    labels_errors,
    node_name_errors,
    taints_errors,
    validate_daemon_set,
    validate_labels,
    validate_node_name,
    validate_taints,
)

Doc = dict[str, Any]

BASE: Doc = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "fluentd", "labels": {"app": "logging"}},
    "spec": {
        "selector": {"matchLabels": {"app": "logging"}},
        "template": {
            "metadata": {"labels": {"app": "logging", "id": "fluentd"}},
            "spec": {
                "containers": [
                    {
                        "name": "fluentd-es",
                        "image": "fluentd:1.3",
                        "volumeMounts": [{"name": "varlog", "mountPath": "/varlog"}],
                    }
                ],
                "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
            },
        },
    },
}

TEMPLATE = ("spec", "template", "spec")
C0 = (*TEMPLATE, "containers", 0)
C0_PATH = "spec.template.spec.containers[0]"
AFFINITY_PATH = "spec.template.spec.affinity"
REQUIRED_NODE = f"{AFFINITY_PATH}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"


def set_(*path_and_value: Any) -> Callable[[Doc], None]:
    """A mutation that sets doc[p0][p1]... = value (creating dicts on the way)."""
    *path, value = path_and_value

    def mutate(doc: Doc) -> None:
        node: Any = doc
        for step in path[:-1]:
            if isinstance(step, str) and step not in node:
                node[step] = {}
            node = node[step]
        node[path[-1]] = copy.deepcopy(value)

    return mutate


def delete(*path: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]

    return mutate


def both(*mutations: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        for m in mutations:
            m(doc)

    return mutate


def load(doc: Doc) -> list[Any]:
    return load_manifests(yaml.safe_dump(doc), "ds.yaml")


def errors_of(mutation: Callable[[Doc], None]) -> InvalidSpec:
    doc = copy.deepcopy(BASE)
    mutation(doc)
    with pytest.raises(InvalidSpec) as info:
        load(doc)
    return info.value


def affinity(value: Doc) -> Callable[[Doc], None]:
    return set_(*TEMPLATE, "affinity", value)


def node_term(expr: Doc, kind: str = "matchExpressions") -> Callable[[Doc], None]:
    return affinity(
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{kind: [expr]}]
                }
            }
        }
    )


def toleration(value: Doc) -> Callable[[Doc], None]:
    return set_(*TEMPLATE, "tolerations", [value])


def rolling(**fields: Any) -> Callable[[Doc], None]:
    return set_("spec", "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": fields})


INVALID = [
    # metadata
    pytest.param(delete("metadata", "name"), "metadata.name", "Required value", id="name-missing"),
    pytest.param(set_("metadata", "name", "Fluentd"), "metadata.name", "RFC 1123", id="name-upper"),
    pytest.param(set_("metadata", "name", "a" * 254), "metadata.name", "253", id="name-too-long"),
    pytest.param(
        set_("metadata", "namespace", "kube.system"),
        "metadata.namespace",
        "RFC 1123 label",
        id="ns-dot",
    ),
    pytest.param(
        set_("metadata", "labels", {"-x": "a"}), "metadata.labels", "name part", id="label-key"
    ),
    pytest.param(
        set_("metadata", "labels", {"x": "a b"}),
        "metadata.labels[x]",
        "valid label",
        id="label-value",
    ),
    pytest.param(
        set_("metadata", "labels", {"x": 1}),
        "metadata.labels[x]",
        "expected a string",
        id="label-int",
    ),
    pytest.param(
        set_("metadata", "labels", {"x": True}),
        "metadata.labels[x]",
        "expected a string",
        id="label-bool",
    ),
    pytest.param(
        set_("metadata", "annotations", {"a/b/c": "x"}),
        "metadata.annotations",
        "qualified name",
        id="annotation-key",
    ),
    pytest.param(
        set_("metadata", "annotations", {"big": "x" * 300_000}),
        "metadata.annotations",
        "Too long",
        id="annotations-size",
    ),
    # selector
    pytest.param(
        delete("spec", "selector"), "spec.selector", "Required value", id="selector-missing"
    ),
    pytest.param(
        set_("spec", "selector", {}), "spec.selector", "empty selector", id="selector-empty"
    ),
    pytest.param(
        set_("spec", "selector", {"matchLabels": {"app": "web"}}),
        "spec.template.metadata.labels",
        "does not match",
        id="selector-mismatch",
    ),
    pytest.param(
        set_(
            "spec",
            "selector",
            {"matchExpressions": [{"key": "app", "operator": "Like", "values": ["x"]}]},
        ),
        "spec.selector.matchExpressions[0].operator",
        "",
        id="selector-operator",
    ),
    pytest.param(
        set_("spec", "selector", {"matchExpressions": [{"key": "app", "operator": "In"}]}),
        "spec.selector.matchExpressions[0]",
        "non-empty",
        id="selector-in-without-values",
    ),
    pytest.param(
        set_("spec", "template", "metadata", "labels", "x y", "z"),
        "spec.template.metadata.labels",
        "name part",
        id="template-label-key",
    ),
    # pod template
    pytest.param(
        set_(*TEMPLATE, "restartPolicy", "Never"),
        "spec.template.spec.restartPolicy",
        'supported values: "Always"',
        id="restart-never",
    ),
    pytest.param(
        set_(*TEMPLATE, "dnsPolicy", "Sometimes"),
        "spec.template.spec.dnsPolicy",
        "Unsupported",
        id="dns-policy",
    ),
    pytest.param(
        set_(*TEMPLATE, "terminationGracePeriodSeconds", -1),
        "spec.template.spec.terminationGracePeriodSeconds",
        "greater than or equal to 0",
        id="grace-negative",
    ),
    pytest.param(
        set_(*TEMPLATE, "containers", []),
        "spec.template.spec.containers",
        "Required value",
        id="no-containers",
    ),
    pytest.param(
        set_(*TEMPLATE, "containers", [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]),
        "spec.template.spec.containers[1].name",
        'Duplicate value: "a"',
        id="container-name-dup",
    ),
    pytest.param(
        set_(*TEMPLATE, "initContainers", [{"name": "fluentd-es", "image": "busybox"}]),
        f"{C0_PATH}.name",
        "Duplicate value",
        id="container-name-dup-with-init",
    ),
    pytest.param(
        set_(*C0, "name", "Fluentd_ES"), f"{C0_PATH}.name", "RFC 1123 label", id="container-name"
    ),
    pytest.param(
        delete(*C0, "name"), f"{C0_PATH}.name", "Required value", id="container-name-missing"
    ),
    pytest.param(delete(*C0, "image"), f"{C0_PATH}.image", "Required value", id="image-missing"),
    pytest.param(
        set_(*C0, "imagePullPolicy", "Sometimes"),
        f"{C0_PATH}.imagePullPolicy",
        "Unsupported",
        id="pull-policy",
    ),
    pytest.param(
        set_(*C0, "ports", [{"containerPort": 70000}]),
        f"{C0_PATH}.ports[0].containerPort",
        "between 1 and 65535",
        id="port-range",
    ),
    pytest.param(
        set_(*C0, "ports", [{"containerPort": 0}]),
        f"{C0_PATH}.ports[0].containerPort",
        "Required",
        id="port-zero",
    ),
    pytest.param(
        set_(*C0, "ports", [{"containerPort": "80"}]),
        f"{C0_PATH}.ports[0].containerPort",
        "expected an integer",
        id="port-string",
    ),
    pytest.param(
        set_(*C0, "ports", [{"containerPort": 80, "protocol": "ICMP"}]),
        f"{C0_PATH}.ports[0].protocol",
        "Unsupported",
        id="port-protocol",
    ),
    pytest.param(
        set_(*C0, "ports", [{"containerPort": 80, "name": "HTTP"}]),
        f"{C0_PATH}.ports[0].name",
        "alpha-numeric",
        id="port-name",
    ),
    pytest.param(
        both(
            set_(*TEMPLATE, "hostNetwork", True),
            set_(*C0, "ports", [{"containerPort": 80, "hostPort": 81}]),
        ),
        f"{C0_PATH}.ports[0].hostPort",
        "must match `containerPort`",
        id="host-network-port",
    ),
    pytest.param(
        set_(*C0, "env", [{"name": "A=B", "value": "x"}]),
        f"{C0_PATH}.env[0].name",
        "'='",
        id="env-name",
    ),
    pytest.param(
        set_(*C0, "env", [{"name": "A", "value": 1}]),
        f"{C0_PATH}.env[0].value",
        "expected a string",
        id="env-int-value",
    ),
    pytest.param(
        set_(*C0, "volumeMounts", [{"name": "nope", "mountPath": "/x"}]),
        f"{C0_PATH}.volumeMounts[0].name",
        'Not found: "nope"',
        id="mount-unknown-volume",
    ),
    pytest.param(
        set_(
            *C0,
            "volumeMounts",
            [{"name": "varlog", "mountPath": "/x"}, {"name": "varlog", "mountPath": "/x"}],
        ),
        f"{C0_PATH}.volumeMounts[1].mountPath",
        "must be unique",
        id="mount-path-dup",
    ),
    pytest.param(
        set_(
            *TEMPLATE,
            "volumes",
            [{"name": "varlog", "emptyDir": {}}, {"name": "varlog", "emptyDir": {}}],
        ),
        "spec.template.spec.volumes[1].name",
        "Duplicate",
        id="volume-dup",
    ),
    pytest.param(
        set_(*TEMPLATE, "volumes", 0, "hostPath", "path", "var/log"),
        "spec.template.spec.volumes[0].hostPath.path",
        "absolute",
        id="hostpath-relative",
    ),
    pytest.param(
        set_(*TEMPLATE, "volumes", 0, "hostPath", "path", "/var/../etc"),
        "spec.template.spec.volumes[0].hostPath.path",
        "'..'",
        id="hostpath-backsteps",
    ),
    pytest.param(
        set_(*TEMPLATE, "volumes", 0, "emptyDir", {}),
        "spec.template.spec.volumes[0].emptyDir",
        "more than 1 volume type",
        id="volume-two-sources",
    ),
    pytest.param(
        set_(*C0, "readinessProbe", {"periodSeconds": 5}),
        f"{C0_PATH}.readinessProbe",
        "handler",
        id="probe-no-handler",
    ),
    pytest.param(
        set_(*C0, "readinessProbe", {"httpGet": {"port": 0}}),
        f"{C0_PATH}.readinessProbe.httpGet.port",
        "between 1 and 65535",
        id="probe-port-zero",
    ),
    pytest.param(
        set_(*C0, "readinessProbe", {"tcpSocket": {"port": "Web"}}),
        f"{C0_PATH}.readinessProbe.tcpSocket.port",
        "alpha-numeric",
        id="probe-port-name",
    ),
    pytest.param(
        set_(*C0, "readinessProbe", {"httpGet": {"port": 80, "scheme": "FTP"}}),
        f"{C0_PATH}.readinessProbe.httpGet.scheme",
        "Unsupported",
        id="probe-scheme",
    ),
    pytest.param(
        set_(*C0, "livenessProbe", {"exec": {"command": ["true"]}, "successThreshold": 2}),
        f"{C0_PATH}.livenessProbe.successThreshold",
        "must be 1",
        id="liveness-success-threshold",
    ),
    pytest.param(
        set_(*C0, "resources", {"limits": {"cpu": "lots"}}),
        f"{C0_PATH}.resources.limits[cpu]",
        "quantities",
        id="quantity",
    ),
    pytest.param(
        set_(*C0, "resources", {"limits": {"memory": "1Gi"}, "requests": {"memory": "2Gi"}}),
        f"{C0_PATH}.resources.requests[memory]",
        "less than or equal to memory limit",
        id="request-over-limit",
    ),
    pytest.param(
        set_(*C0, "resources", {"limits": {"gpu": 1}}),
        f"{C0_PATH}.resources.limits[gpu]",
        "standard resource",
        id="resource-name",
    ),
    pytest.param(
        set_(*TEMPLATE, "nodeSelector", {"disk": "s s d"}),
        "spec.template.spec.nodeSelector[disk]",
        "valid label",
        id="node-selector-value",
    ),
    # update strategy and counters
    pytest.param(
        set_("spec", "updateStrategy", {"type": "Recreate"}),
        "spec.updateStrategy.type",
        "Unsupported",
        id="strategy-type",
    ),
    pytest.param(
        rolling(maxUnavailable="ten"),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        'Invalid value: "ten": must be an integer or percentage',
        id="max-unavailable-word",
    ),
    pytest.param(
        rolling(maxUnavailable=-1),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "greater than or equal to 0",
        id="max-unavailable-negative",
    ),
    pytest.param(
        rolling(maxUnavailable="150%"),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "100%",
        id="max-unavailable-over-100",
    ),
    pytest.param(
        rolling(maxSurge="x%", maxUnavailable=0),
        "spec.updateStrategy.rollingUpdate.maxSurge",
        "integer or percentage",
        id="max-surge-word",
    ),
    pytest.param(
        rolling(maxUnavailable=0, maxSurge=0),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "cannot be 0 when maxSurge is 0",
        id="both-zero",
    ),
    pytest.param(
        rolling(maxUnavailable="0%"),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "cannot be 0",
        id="both-zero-percent",
    ),
    pytest.param(
        rolling(maxSurge=1),
        "spec.updateStrategy.rollingUpdate.maxSurge",
        "may not be set when maxUnavailable is non-zero",
        id="surge-with-default-unavailable",
    ),
    pytest.param(
        set_(
            "spec", "updateStrategy", {"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 2}}
        ),
        "spec.updateStrategy.rollingUpdate",
        "only allowed for updateStrategy 'RollingUpdate'",
        id="rolling-with-on-delete",
    ),
    pytest.param(
        set_("spec", "minReadySeconds", -1),
        "spec.minReadySeconds",
        "greater than or equal to 0",
        id="min-ready-negative",
    ),
    pytest.param(
        set_("spec", "revisionHistoryLimit", -1),
        "spec.revisionHistoryLimit",
        "greater than or equal to 0",
        id="history-negative",
    ),
    pytest.param(
        both(set_("spec", "minReadySeconds", 30), set_("spec", "progressDeadlineSeconds", 30)),
        "spec.progressDeadlineSeconds",
        "greater than minReadySeconds",
        id="deadline-not-after-min-ready",
    ),
    pytest.param(
        set_("spec", "progressDeadlineSeconds", -5),
        "spec.progressDeadlineSeconds",
        "greater than or equal to 0",
        id="deadline-negative",
    ),
    pytest.param(
        set_("spec", "autoRollback", True),
        "spec.progressDeadlineSeconds",
        "autoRollback",
        id="auto-rollback-without-deadline",
    ),
    # tolerations
    pytest.param(
        toleration({"key": "k", "operator": "Exists", "value": "v"}),
        "spec.template.spec.tolerations[0].value",
        "",
        id="toleration-exists-with-value",
    ),
    pytest.param(
        toleration({"operator": "Equal", "value": "v"}),
        "spec.template.spec.tolerations[0].operator",
        "",
        id="toleration-empty-key-equal",
    ),
    pytest.param(
        toleration({"key": "k", "effect": "NoRun"}),
        "spec.template.spec.tolerations[0].effect",
        "",
        id="toleration-effect",
    ),
    pytest.param(
        toleration({"key": "k", "operator": "Maybe"}),
        "spec.template.spec.tolerations[0].operator",
        "",
        id="toleration-operator",
    ),
    pytest.param(
        toleration({"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}),
        "spec.template.spec.tolerations[0].tolerationSeconds",
        "",
        id="toleration-seconds-without-no-execute",
    ),
    # affinity
    pytest.param(
        affinity(
            {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
                }
            }
        ),
        f"{REQUIRED_NODE}.nodeSelectorTerms",
        "at least one node selector term",
        id="node-affinity-no-terms",
    ),
    pytest.param(
        node_term({"key": "zone", "operator": "In"}),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchExpressions[0]",
        "",
        id="node-in-without-values",
    ),
    pytest.param(
        node_term({"key": "zone", "operator": "Exists", "values": ["a"]}),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchExpressions[0]",
        "",
        id="node-exists-with-values",
    ),
    pytest.param(
        node_term({"key": "cpus", "operator": "Gt", "values": ["many"]}),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchExpressions[0]",
        "integer",
        id="node-gt-not-integer",
    ),
    pytest.param(
        node_term({"key": "cpus", "operator": "Lt", "values": ["1", "2"]}),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchExpressions[0]",
        "",
        id="node-lt-two-values",
    ),
    pytest.param(
        node_term({"key": "zone", "operator": "Near", "values": ["a"]}),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchExpressions[0].operator",
        "",
        id="node-operator",
    ),
    pytest.param(
        node_term({"key": "metadata.uid", "operator": "In", "values": ["a"]}, "matchFields"),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchFields[0].key",
        "",
        id="match-fields-key",
    ),
    pytest.param(
        node_term({"key": "metadata.name", "operator": "Exists"}, "matchFields"),
        f"{REQUIRED_NODE}.nodeSelectorTerms[0].matchFields[0].operator",
        "",
        id="match-fields-operator",
    ),
    pytest.param(
        affinity(
            {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 101, "preference": {}}
                    ]
                }
            }
        ),
        f"{AFFINITY_PATH}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "1-100",
        id="node-preferred-weight",
    ),
    pytest.param(
        affinity(
            {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"a": "b"}}}
                    ]
                }
            }
        ),
        f"{AFFINITY_PATH}.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
        "Required",
        id="pod-affinity-topology-key",
    ),
    pytest.param(
        affinity(
            {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 0, "podAffinityTerm": {"topologyKey": "zone"}}
                    ]
                }
            }
        ),
        f"{AFFINITY_PATH}.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "1-100",
        id="pod-anti-affinity-weight",
    ),
    pytest.param(
        affinity(
            {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "topologyKey": "zone",
                            "labelSelector": {
                                "matchExpressions": [
                                    {"key": "a", "operator": "Exists", "values": ["x"]}
                                ]
                            },
                        }
                    ]
                }
            }
        ),
        f"{AFFINITY_PATH}.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0]",
        "",
        id="pod-affinity-selector",
    ),
    # decoding
    pytest.param(
        set_(*C0, "imagePullPolicyy", "Always"),
        f"{C0_PATH}.imagePullPolicyy",
        "unknown field",
        id="unknown-field",
    ),
    pytest.param(
        set_(*C0, "image_pull_policy", "Always"),
        f"{C0_PATH}.image_pull_policy",
        'did you mean "imagePullPolicy"',
        id="snake-case-field",
    ),
    pytest.param(
        set_("spec", "replicas", 3),
        "spec.replicas",
        "unknown field",
        id="replicas-is-not-a-ds-field",
    ),
    pytest.param(
        set_(*TEMPLATE, "containers", {"name": "a"}),
        "spec.template.spec.containers",
        "expected a list",
        id="containers-not-a-list",
    ),
    pytest.param(
        set_("spec", "template", "not an object"),
        "spec.template",
        "expected an object",
        id="template-not-an-object",
    ),
    pytest.param(
        set_(*TEMPLATE, "hostNetwork", "yes please"),
        "spec.template.spec.hostNetwork",
        "expected a boolean",
        id="bool-from-string",
    ),
    pytest.param(
        set_("spec", "minReadySeconds", 2**40),
        "spec.minReadySeconds",
        "out of range",
        id="int32-overflow",
    ),
]


@pytest.mark.parametrize(("mutation", "path", "message"), INVALID)
def test_invalid_manifest_names_the_field(
    mutation: Callable[[Doc], None], path: str, message: str
) -> None:
    error = errors_of(mutation)
    paths = [e.path for e in error.errors]
    assert path in paths, f"expected {path}, got {[str(e) for e in error.errors]}"
    matching = [e for e in error.errors if e.path == path]
    assert any(message in e.message for e in matching), [str(e) for e in matching]
    assert error.source == "ds.yaml"


def test_the_base_manifest_is_valid() -> None:
    (manifest,) = load(BASE)
    assert manifest.obj.metadata.name == "fluentd"


def test_every_error_is_reported_not_just_the_first() -> None:
    error = errors_of(
        both(
            set_("metadata", "name", "Bad_Name"),
            delete("spec", "selector"),
            set_(*TEMPLATE, "restartPolicy", "OnFailure"),
            rolling(maxUnavailable="ten"),
            set_(*C0, "name", "X"),
        )
    )
    paths = {e.path for e in error.errors}
    assert {
        "metadata.name",
        "spec.selector",
        "spec.template.spec.restartPolicy",
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        f"{C0_PATH}.name",
    } <= paths
    text = str(error)
    assert text.startswith("ds.yaml: ")
    assert "spec.selector: Required value" in text


def test_every_unknown_field_is_reported_with_its_path() -> None:
    error = errors_of(
        both(set_(*C0, "imagePullPolicyy", "Always"), set_("spec", "template", "metadta", {}))
    )
    assert {e.path for e in error.errors} == {
        f"{C0_PATH}.imagePullPolicyy",
        "spec.template.metadta",
    }


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(rolling(maxUnavailable=0, maxSurge=1), id="surge-only"),
        pytest.param(rolling(maxUnavailable="25%"), id="percent"),
        pytest.param(rolling(maxUnavailable="100%"), id="all-at-once"),
        pytest.param(set_("spec", "updateStrategy", {"type": "OnDelete"}), id="on-delete"),
        pytest.param(set_("spec", "revisionHistoryLimit", 0), id="no-history"),
        pytest.param(
            both(set_("spec", "progressDeadlineSeconds", 600), set_("spec", "autoRollback", True)),
            id="deadline-and-auto-rollback",
        ),
        pytest.param(
            set_(*TEMPLATE, "tolerations", [{"operator": "Exists"}]), id="tolerate-everything"
        ),
        pytest.param(
            set_(*C0, "readinessProbe", {"httpGet": {"port": "http"}}), id="probe-named-port"
        ),
        pytest.param(
            set_(*C0, "resources", {"limits": {"cpu": 1, "memory": "1Gi", "example.com/gpu": 2}}),
            id="resources",
        ),
        pytest.param(
            set_("spec", "selector", {"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
            id="selector-expression",
        ),
        pytest.param(set_("metadata", "namespace", "kube-system"), id="namespace"),
        pytest.param(
            set_("metadata", "annotations", {"kubernetes.io/change-cause": "kubectl apply"}),
            id="change-cause-annotation",
        ),
    ],
)
def test_valid_variants(mutation: Callable[[Doc], None]) -> None:
    doc = copy.deepcopy(BASE)
    mutation(doc)
    (manifest,) = load(doc)
    validate_daemon_set(manifest.obj)


def test_validate_daemon_set_on_a_proto_reports_all_errors() -> None:
    ds = objects_pb2.DaemonSet()
    ds.metadata.name = "x"
    with pytest.raises(InvalidSpec) as info:
        validate_daemon_set(ds)
    paths = {e.path for e in info.value.errors}
    assert {"metadata.namespace", "spec.selector", "spec.template.spec.containers"} <= paths


def test_prepared_object_validates_and_preparing_again_changes_nothing() -> None:
    (manifest,) = load(BASE)
    assert isinstance(manifest.obj, objects_pb2.DaemonSet)
    again = prepare_daemon_set(manifest.obj)
    assert again == manifest.obj
    assert daemon_set_errors(again) == []


# ---- node facts: the helpers the API uses for Label / Taint requests -------------


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        pytest.param("node-1", True, id="plain"),
        pytest.param("ip-10-0-0-1.ec2.internal", True, id="fqdn"),
        pytest.param("Node_1", False, id="upper-underscore"),
        pytest.param("", False, id="empty"),
    ],
)
def test_node_names(name: str, ok: bool) -> None:
    assert (node_name_errors(name) == []) is ok
    if not ok:
        with pytest.raises(InvalidSpec):
            validate_node_name(name)


def test_label_helpers() -> None:
    assert labels_errors({"disktype": "ssd", "kubernetes.io/hostname": "n1"}) == []
    errors = labels_errors({"bad key": "x", "zone": "not ok"}, "labels")
    assert [e.path for e in errors] == ["labels", "labels[zone]"]
    assert label_key_errors("ok-key") == []
    assert label_key_errors("no/good/key")
    with pytest.raises(InvalidSpec):
        validate_labels({"a": "-"})


def test_taint_helpers() -> None:
    good = [objects_pb2.Taint(key="dedicated", value="infra", effect="NoSchedule")]
    assert taints_errors(good) == []
    bad = [
        objects_pb2.Taint(key="", effect="NoSchedule"),
        objects_pb2.Taint(key="a", value="b c", effect="Sometimes"),
        objects_pb2.Taint(key="d", effect=""),
        objects_pb2.Taint(key="dup", effect="NoExecute"),
        objects_pb2.Taint(key="dup", effect="NoExecute"),
    ]
    paths = [e.path for e in taints_errors(bad)]
    assert paths == [
        "spec.taints[0].key",
        "spec.taints[1].value",
        "spec.taints[1].effect",
        "spec.taints[2].effect",
        "spec.taints[4]",
    ]
    with pytest.raises(InvalidSpec):
        validate_taints(bad)


# ---- robustness: any input is either an object or an InvalidSpec ------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_paths(BASE)), JSON_VALUES)
def test_any_replacement_loads_or_names_its_fields(path: tuple[Any, ...], value: Any) -> None:
    doc = copy.deepcopy(BASE)
    set_(*path, value)(doc)
    errors: tuple[Any, ...] = ()
    try:
        (manifest,) = load(doc)
        validate_daemon_set(manifest.obj)
    except InvalidSpec as error:
        errors = error.errors
        assert errors, "an InvalidSpec always carries at least one FieldError"
    assert all(e.path and e.message for e in errors)


@pytest.mark.parametrize(
    ("written_version", "allowed"),
    [
        pytest.param("apps/v1", False, id="apps-v1-immutable"),
        pytest.param("apps/v1beta2", False, id="apps-v1beta2-immutable"),
        pytest.param("extensions/v1beta1", True, id="extensions-may-change-it"),
    ],
)
def test_selector_is_immutable_on_update(written_version: str, allowed: bool) -> None:
    (old,) = load(BASE)
    changed = copy.deepcopy(BASE)
    set_("spec", "selector", {"matchLabels": {"id": "fluentd"}})(changed)
    (new,) = load(changed)
    errors = daemon_set_update_errors(old.obj, new.obj, written_version)
    assert (errors == []) is allowed
    if not allowed:
        assert [str(e).split(":")[0] for e in errors] == ["spec.selector"]
        assert "field is immutable" in str(errors[0])
    assert daemon_set_update_errors(old.obj, old.obj, written_version) == []
