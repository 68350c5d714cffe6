"""Loading manifests: YAML documents -> defaulted, validated DaemonSets and Pods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.defaults import pull_policy_for
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.manifests import (
    MAX_MANIFEST_BYTES,
    Manifest,
    load_manifests,
    prepare_daemon_set,
    prepare_pod,
)
from ctrlplane.domain.validation import validate_daemon_set, validate_pod

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FLUENTD = (EXAMPLES / "fluentd-daemonset.yaml").read_text()


def fluentd_as(api_version: str) -> str:
    return FLUENTD.replace("apiVersion: extensions/v1beta1", f"apiVersion: {api_version}")


def only_ds(text: str, source: str = "ds.yaml") -> objects_pb2.DaemonSet:
    (manifest,) = load_manifests(text, source)
    assert isinstance(manifest.obj, objects_pb2.DaemonSet)
    return manifest.obj


def only_pod(text: str, source: str = "pod.yaml") -> objects_pb2.Pod:
    (manifest,) = load_manifests(text, source)
    assert isinstance(manifest.obj, objects_pb2.Pod)
    return manifest.obj


def failure(text: str, source: str = "ds.yaml") -> InvalidSpec:
    with pytest.raises(InvalidSpec) as info:
        load_manifests(text, source)
    return info.value


MINIMAL = """
apiVersion: {version}
kind: DaemonSet
metadata: {{name: agent}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      containers: [{{name: agent, image: "agent:1"}}]
"""


# ---- the seed -------------------------------------------------------------------


def test_seed_fluentd_applies_unchanged_with_extensions_v1beta1_defaults() -> None:
    (manifest,) = load_manifests(FLUENTD, "fluentd-daemonset.yaml")
    ds = manifest.obj
    assert isinstance(ds, objects_pb2.DaemonSet)
    assert manifest.kind == "DaemonSet"
    assert manifest.api_version == "extensions/v1beta1"
    # Stored in one shape whatever the version written.
    assert (ds.api_version, ds.kind) == ("apps/v1", "DaemonSet")
    assert (manifest.namespace, manifest.name) == ("default", "fluentd")
    spec = ds.spec
    assert dict(spec.selector.match_labels) == {"app": "logging", "id": "fluentd"}
    assert not spec.selector.match_expressions
    assert dict(ds.metadata.labels) == {"app": "logging", "id": "fluentd"}
    assert spec.update_strategy.type == "OnDelete"
    assert not spec.update_strategy.HasField("rolling_update")
    assert spec.revision_history_limit == 10
    pod = spec.template.spec
    assert pod.restart_policy == "Always"
    assert pod.dns_policy == "ClusterFirst"
    assert pod.termination_grace_period_seconds == 30
    (container,) = pod.containers
    assert container.image == "gcr.io/google_containers/fluentd-elasticsearch:1.3"
    assert container.image_pull_policy == "IfNotPresent"
    assert [(e.name, e.value) for e in container.env] == [("FLUENTD_ARGS", "-qq")]
    assert [v.host_path.path for v in pod.volumes] == ["/var/lib/docker/containers", "/var/log"]
    assert [m.mount_path for m in container.volume_mounts] == [
        "/var/lib/docker/containers",
        "/varlog",
    ]
    validate_daemon_set(ds)


def test_seed_fluentd_under_apps_v1_without_selector_fails_on_spec_selector() -> None:
    error = failure(fluentd_as("apps/v1"))
    assert [e.path for e in error.errors] == ["spec.selector"]
    assert str(error) == "ds.yaml: spec.selector: Required value"


def test_apps_v1beta2_also_requires_the_selector() -> None:
    assert [e.path for e in failure(fluentd_as("apps/v1beta2")).errors] == ["spec.selector"]


@pytest.mark.parametrize(
    ("example", "name"),
    [
        pytest.param("node-affinity-pod.yaml", "with-node-affinity", id="node-affinity"),
        pytest.param("pod-affinity-pod.yaml", "with-pod-affinity", id="pod-affinity"),
    ],
)
def test_seed_pod_examples_parse_as_pods(example: str, name: str) -> None:
    (manifest,) = load_manifests((EXAMPLES / example).read_text(), example)
    pod = manifest.obj
    assert isinstance(pod, objects_pb2.Pod)
    assert (manifest.kind, pod.api_version, pod.kind) == ("Pod", "v1", "Pod")
    assert (pod.metadata.namespace, pod.metadata.name) == ("default", name)
    assert pod.spec.restart_policy == "Always"
    assert pod.spec.HasField("affinity")
    validate_pod(pod)


def test_seed_pod_affinity_terms_survive_decoding() -> None:
    affinity = only_pod((EXAMPLES / "pod-affinity-pod.yaml").read_text()).spec.affinity
    (required,) = affinity.pod_affinity.required_during_scheduling_ignored_during_execution
    assert required.topology_key == "failure-domain.beta.kubernetes.io/zone"
    assert required.label_selector.match_expressions[0].values == ["S1"]
    (preferred,) = affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution
    assert preferred.weight == 100


# ---- defaults per API version ---------------------------------------------------


@pytest.mark.parametrize(
    ("version", "strategy", "max_unavailable", "max_surge"),
    [
        pytest.param("apps/v1", "RollingUpdate", "1", "0", id="apps-v1"),
        pytest.param("apps/v1beta2", "RollingUpdate", "1", "0", id="apps-v1beta2"),
        pytest.param("extensions/v1beta1", "OnDelete", "", "", id="extensions-v1beta1"),
    ],
)
def test_update_strategy_defaults(
    version: str, strategy: str, max_unavailable: str, max_surge: str
) -> None:
    ds = only_ds(MINIMAL.format(version=version))
    assert ds.api_version == "apps/v1"
    assert ds.spec.update_strategy.type == strategy
    assert ds.spec.update_strategy.rolling_update.max_unavailable == max_unavailable
    assert ds.spec.update_strategy.rolling_update.max_surge == max_surge
    assert ds.spec.revision_history_limit == 10


def test_extensions_rolling_update_gets_max_unavailable_one() -> None:
    text = (
        MINIMAL.format(version="extensions/v1beta1") + "  updateStrategy: {type: RollingUpdate}\n"
    )
    rolling = only_ds(text).spec.update_strategy.rolling_update
    assert (rolling.max_unavailable, rolling.max_surge) == ("1", "0")


def test_apps_v1_keeps_object_labels_as_written() -> None:
    assert dict(only_ds(MINIMAL.format(version="apps/v1")).metadata.labels) == {}


def test_explicit_revision_history_limit_zero_is_kept() -> None:
    text = MINIMAL.format(version="apps/v1") + "  revisionHistoryLimit: 0\n"
    ds = only_ds(text)
    assert ds.spec.HasField("revision_history_limit")
    assert ds.spec.revision_history_limit == 0


@pytest.mark.parametrize(
    ("yaml_value", "stored"),
    [
        pytest.param("1", "1", id="int-becomes-string"),
        pytest.param('"2"', "2", id="quoted-int"),
        pytest.param("25%", "25%", id="percent"),
    ],
)
def test_max_unavailable_is_stored_as_text(yaml_value: str, stored: str) -> None:
    text = MINIMAL.format(version="apps/v1") + (
        f"  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n"
        f"      maxUnavailable: {yaml_value}\n"
    )
    assert only_ds(text).spec.update_strategy.rolling_update.max_unavailable == stored


def test_container_defaults() -> None:
    text = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: exporter, namespace: monitoring}
spec:
  selector: {matchLabels: {app: exporter}}
  template:
    metadata: {labels: {app: exporter}}
    spec:
      volumes: [{name: scratch}]
      containers:
      - name: exporter
        image: prom/node-exporter
        ports: [{containerPort: 9100, name: metrics}]
        resources: {limits: {cpu: 0.5, memory: 64Mi}, requests: {cpu: 100m}}
        readinessProbe: {httpGet: {port: 9100}}
        livenessProbe: {tcpSocket: {port: metrics}, periodSeconds: 3}
"""
    ds = only_ds(text)
    assert ds.metadata.namespace == "monitoring"
    pod = ds.spec.template.spec
    assert pod.volumes[0].HasField("empty_dir")  # a volume without a source is an emptyDir
    (c,) = pod.containers
    assert c.image_pull_policy == "Always"  # untagged
    assert c.ports[0].protocol == "TCP"
    assert dict(c.resources.limits) == {"cpu": "0.5", "memory": "64Mi"}
    ready = c.readiness_probe
    assert (ready.http_get.path, ready.http_get.scheme, ready.http_get.port) == (
        "/",
        "HTTP",
        "9100",
    )
    assert (ready.timeout_seconds, ready.period_seconds) == (1, 10)
    assert (ready.success_threshold, ready.failure_threshold) == (1, 3)
    assert c.liveness_probe.period_seconds == 3
    assert c.liveness_probe.tcp_socket.port == "metrics"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        pytest.param("nginx", "Always", id="untagged"),
        pytest.param("nginx:latest", "Always", id="latest"),
        pytest.param("nginx:1.25", "IfNotPresent", id="tagged"),
        pytest.param("localhost:5000/nginx", "Always", id="registry-port-untagged"),
        pytest.param("localhost:5000/nginx:2", "IfNotPresent", id="registry-port-tagged"),
        pytest.param("nginx@sha256:" + "a" * 64, "IfNotPresent", id="digest"),
    ],
)
def test_image_pull_policy_default(image: str, policy: str) -> None:
    assert pull_policy_for(image) == policy


# ---- documents, sources, decoding -------------------------------------------------


def test_multi_document_file_keeps_order_and_index_and_skips_empty_documents() -> None:
    pod = (EXAMPLES / "node-affinity-pod.yaml").read_text()
    text = f"---\n{FLUENTD}\n---\n---\n{pod}\n---\n"
    manifests = load_manifests(text, "all.yaml")
    assert [(m.kind, m.name, m.index, m.source) for m in manifests] == [
        ("DaemonSet", "fluentd", 0, "all.yaml"),
        ("Pod", "with-node-affinity", 2, "all.yaml"),
    ]
    assert all(isinstance(m, Manifest) for m in manifests)


def test_invalid_document_in_a_multi_document_file_is_named() -> None:
    text = FLUENTD + "\n---\n" + fluentd_as("apps/v1")
    error = failure(text, "two.yaml")
    assert error.source == "two.yaml (document 2)"
    assert [e.path for e in error.errors] == ["spec.selector"]


def test_an_empty_file_has_no_manifests() -> None:
    assert load_manifests("", "empty.yaml") == []
    assert load_manifests("# only a comment\n---\n", "empty.yaml") == []


def test_json_manifest() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "static-web"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1"}], "restartPolicy": "Never"},
    }
    assert only_pod(json.dumps(doc), "web.json").spec.restart_policy == "Never"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        pytest.param("kind: DaemonSet\n", "apiVersion", "Required value", id="no-api-version"),
        pytest.param("apiVersion: apps/v1\n", "kind", "Required value", id="no-kind"),
        pytest.param(
            "apiVersion: apps/v1\nkind: Deployment\n", "kind", "Unsupported value", id="deployment"
        ),
        pytest.param(
            "apiVersion: apps/v2\nkind: DaemonSet\n", "apiVersion", "apps/v1", id="ds-in-apps-v2"
        ),
        pytest.param(
            "apiVersion: apps/v1\nkind: Pod\n", "apiVersion", 'no kind "Pod"', id="pod-in-apps"
        ),
        pytest.param("- a\n- b\n", "object", "expected an object", id="a-list"),
        pytest.param("a: [\n", "yaml", "line", id="yaml-syntax"),
        pytest.param("a: 1\na: 2\n", "yaml", "duplicate key 'a'", id="duplicate-key"),
    ],
)
def test_document_level_errors(text: str, path: str, message: str) -> None:
    error = failure(text)
    assert [e.path for e in error.errors] == [path]
    assert message in error.errors[0].message


def test_duplicate_keys_deep_in_the_document_are_errors() -> None:
    text = FLUENTD.replace(
        "      - name: fluentd-es\n", "      - name: fluentd-es\n        name: x\n"
    )
    assert "duplicate key 'name'" in str(failure(text))


def test_status_and_null_creation_timestamps_are_ignored() -> None:
    text = FLUENTD.replace(
        "metadata:\n  name: fluentd\n", "metadata:\n  name: fluentd\n  creationTimestamp: null\n"
    ).replace("      name: fluentd\n", "      name: fluentd\n      creationTimestamp: null\n")
    text += "status:\n  numberReady: 3\n  bogus: field\n"
    ds = only_ds(text)
    assert not ds.HasField("status")
    assert ds.metadata.creation_timestamp == ""


def test_timestamps_stay_text() -> None:
    text = MINIMAL.format(version="apps/v1").replace(
        "metadata: {name: agent}",
        "metadata: {name: agent, annotations: {released: 2024-01-02}}",
    )
    assert only_ds(text).metadata.annotations["released"] == "2024-01-02"


def test_namespace_flag_fills_and_must_agree() -> None:
    (manifest,) = load_manifests(FLUENTD, "f.yaml", namespace="logging")
    assert manifest.namespace == "logging"
    text = FLUENTD.replace("  name: fluentd\nspec", "  name: fluentd\n  namespace: other\nspec")
    with pytest.raises(InvalidSpec) as info:
        load_manifests(text, "f.yaml", namespace="logging")
    assert [e.path for e in info.value.errors] == ["metadata.namespace"]


def test_oversized_manifest_is_refused() -> None:
    text = "# " + "x" * MAX_MANIFEST_BYTES
    assert "Too long" in str(failure(text))


# ---- static pods ----------------------------------------------------------------


STATIC = """
apiVersion: v1
kind: Pod
metadata: {{name: static-web}}
spec:
  restartPolicy: {policy}
  containers: [{{name: web, image: "nginx:1", command: [python3, -m, http.server]}}]
"""


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_pod_restart_policies(policy: str) -> None:
    assert only_pod(STATIC.format(policy=policy)).spec.restart_policy == policy


def test_pod_with_unknown_restart_policy_is_invalid() -> None:
    error = failure(STATIC.format(policy="Sometimes"))
    assert [e.path for e in error.errors] == ["spec.restartPolicy"]


def test_pod_without_name_or_containers() -> None:
    error = failure("apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {}\n")
    assert {e.path for e in error.errors} == {"metadata.name", "spec.containers"}


# ---- prepare (objects that arrive over gRPC) ------------------------------------


def test_prepare_daemon_set_defaults_by_api_version_and_drops_status() -> None:
    ds = objects_pb2.DaemonSet(api_version="extensions/v1beta1", kind="DaemonSet")
    ds.metadata.name = "agent"
    ds.spec.template.metadata.labels["app"] = "agent"
    ds.spec.template.spec.containers.add(name="agent", image="agent:1")
    ds.status.number_ready = 4
    prepared = prepare_daemon_set(ds)
    assert prepared.api_version == "apps/v1"
    assert dict(prepared.spec.selector.match_labels) == {"app": "agent"}
    assert not prepared.HasField("status")
    assert ds.api_version == "extensions/v1beta1"  # the argument is not changed
    assert prepare_daemon_set(prepared) == prepared


def test_prepare_daemon_set_without_api_version_is_apps_v1() -> None:
    ds = objects_pb2.DaemonSet()
    ds.metadata.name = "agent"
    ds.spec.template.spec.containers.add(name="agent", image="agent:1")
    with pytest.raises(InvalidSpec) as info:
        prepare_daemon_set(ds)
    assert "spec.selector" in {e.path for e in info.value.errors}


def test_prepare_daemon_set_rejects_other_versions() -> None:
    with pytest.raises(InvalidSpec) as info:
        prepare_daemon_set(objects_pb2.DaemonSet(api_version="apps/v2"))
    assert [e.path for e in info.value.errors] == ["apiVersion"]


def test_prepare_pod() -> None:
    pod = objects_pb2.Pod()
    pod.metadata.name = "web"
    pod.spec.containers.add(name="web", image="nginx:1")
    prepared = prepare_pod(pod)
    assert (prepared.api_version, prepared.kind, prepared.metadata.namespace) == (
        "v1",
        "Pod",
        "default",
    )
    assert prepare_pod(prepared) == prepared


# ---- kind: List (what `get -o yaml` prints) -------------------------------------


LIST = """
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: a, generation: 3, uid: x, creationTimestamp: "2024-01-01T00:00:00Z"}
  spec:
    selector: {matchLabels: {app: a}}
    template:
      metadata: {labels: {app: a}}
      spec: {containers: [{name: a, image: "a:1"}]}
  status: {numberReady: 2}
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec: {containers: [{name: b, image: "b:1"}]}
"""


def test_list_items_are_loaded_in_order() -> None:
    manifests = load_manifests(LIST, "list.yaml")
    assert [(m.kind, m.name, m.index, m.item) for m in manifests] == [
        ("DaemonSet", "a", 0, 0),
        ("Pod", "b", 0, 1),
    ]


def test_list_item_errors_name_the_item() -> None:
    error = failure(
        LIST.replace("selector: {matchLabels: {app: a}}", "minReadySeconds: 0"), "list.yaml"
    )
    assert [e.path for e in error.errors] == ["items[0].spec.selector"]


@pytest.mark.parametrize(
    "example",
    ["fluentd-daemonset.yaml", "node-affinity-pod.yaml", "pod-affinity-pod.yaml"],
)
def test_what_we_print_loads_back_as_the_same_object(example: str) -> None:
    # protobuf's JSON mapping (int64 as strings) is what `get -o yaml|json` prints.
    (first,) = load_manifests((EXAMPLES / example).read_text(), example)
    printed = yaml.safe_dump(json_format.MessageToDict(first.obj))
    (again,) = load_manifests(printed, "printed.yaml")
    assert again.obj == first.obj


def test_alias_bombs_and_cycles_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\n"
    assert "after expanding aliases" in str(failure(bomb))
    assert "after expanding aliases" in str(failure("&loop [*loop]\n"))


def test_deep_nesting_is_refused() -> None:
    error = failure("[" * 100_000 + "]" * 100_000)
    assert [e.path for e in error.errors] == ["yaml"]
    assert "nest" in error.errors[0].message
