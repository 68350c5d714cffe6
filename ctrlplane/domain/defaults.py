"""Kubernetes defaulting, per API version, for DaemonSets and Pods (SetDefaults_* in k8s).

Defaults are applied in place before validation, as the API server does. After
defaulting, a DaemonSet is stored as apps/v1 whatever version it was written in,
so that every DaemonSetApplied event in the log has one shape; the version's
own defaults (OnDelete and a selector from the template labels for
extensions/v1beta1) have been applied by then, which is all the version means.

Proto3 scalars carry no presence, so "unset" is the zero value here: an explicit
`terminationGracePeriodSeconds: 0` becomes 30, and an explicit probe
`timeoutSeconds: 0` becomes 1 (Kubernetes keeps an explicit 0 there).
Pure: no I/O.
"""

from __future__ import annotations

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain import fielderrors
from ctrlplane.domain.errors import InvalidSpec
from ctrlplane.domain.streams import namespace_or_default

APPS_V1 = "apps/v1"
APPS_V1BETA2 = "apps/v1beta2"
EXTENSIONS_V1BETA1 = "extensions/v1beta1"
CORE_V1 = "v1"
DAEMON_SET_API_VERSIONS = (APPS_V1, APPS_V1BETA2, EXTENSIONS_V1BETA1)
POD_API_VERSIONS = (CORE_V1,)

DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"


def default_daemon_set(ds: objects_pb2.DaemonSet) -> None:
    """Apply the defaults of `ds.api_version` (empty = apps/v1), then record it as apps/v1."""
    version = ds.api_version or APPS_V1
    if version not in DAEMON_SET_API_VERSIONS:
        raise InvalidSpec(
            [fielderrors.not_supported("apiVersion", version, DAEMON_SET_API_VERSIONS)]
        )
    if ds.kind not in ("", "DaemonSet"):
        raise InvalidSpec([fielderrors.not_supported("kind", ds.kind, ["DaemonSet"])])
    spec = ds.spec
    template_labels = spec.template.metadata.labels
    if version == EXTENSIONS_V1BETA1:
        # extensions/v1beta1 derives the selector and the object's labels from the template.
        if not spec.HasField("selector") and template_labels:
            spec.selector.match_labels.update(template_labels)
        if not ds.metadata.labels:
            ds.metadata.labels.update(template_labels)
        if not spec.update_strategy.type:
            spec.update_strategy.type = "OnDelete"
    elif not spec.update_strategy.type:
        spec.update_strategy.type = "RollingUpdate"
    strategy = spec.update_strategy
    if strategy.type == "RollingUpdate":
        # Field by field, as SetDefaults_DaemonSet: {maxSurge: 1} alone gets maxUnavailable 1.
        if not strategy.rolling_update.max_unavailable:
            strategy.rolling_update.max_unavailable = "1"
        if not strategy.rolling_update.max_surge:
            strategy.rolling_update.max_surge = "0"
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = DEFAULT_REVISION_HISTORY_LIMIT
    ds.metadata.namespace = namespace_or_default(ds.metadata.namespace)
    default_pod_spec(spec.template.spec)
    ds.api_version = APPS_V1
    ds.kind = "DaemonSet"


def default_pod(pod: objects_pb2.Pod) -> None:
    """Defaults of a v1 Pod (a static pod from a manifest directory)."""
    version = pod.api_version or CORE_V1
    if version not in POD_API_VERSIONS:
        raise InvalidSpec([fielderrors.not_supported("apiVersion", version, POD_API_VERSIONS)])
    if pod.kind not in ("", "Pod"):
        raise InvalidSpec([fielderrors.not_supported("kind", pod.kind, ["Pod"])])
    pod.metadata.namespace = namespace_or_default(pod.metadata.namespace)
    default_pod_spec(pod.spec)
    pod.api_version = CORE_V1
    pod.kind = "Pod"


def default_pod_spec(spec: objects_pb2.PodSpec) -> None:
    if not spec.restart_policy:
        spec.restart_policy = "Always"
    if not spec.dns_policy:
        spec.dns_policy = "ClusterFirst"
    if not spec.termination_grace_period_seconds:
        spec.termination_grace_period_seconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
    if spec.service_account and not spec.service_account_name:
        # serviceAccount is the deprecated spelling; Kubernetes copies it over.
        spec.service_account_name = spec.service_account
    for volume in spec.volumes:
        if not volume.HasField("host_path") and not volume.HasField("empty_dir"):
            volume.empty_dir.SetInParent()  # SetDefaults_Volume: no source means emptyDir
    for container in [*spec.init_containers, *spec.containers]:
        default_container(container)


def default_container(container: objects_pb2.Container) -> None:
    if not container.image_pull_policy:
        container.image_pull_policy = pull_policy_for(container.image)
    if not container.termination_message_path:
        container.termination_message_path = DEFAULT_TERMINATION_MESSAGE_PATH
    if not container.termination_message_policy:
        container.termination_message_policy = "File"
    for port in container.ports:
        if not port.protocol:
            port.protocol = "TCP"
    for name in ("readiness_probe", "liveness_probe"):
        if container.HasField(name):
            default_probe(getattr(container, name))


def default_probe(probe: objects_pb2.Probe) -> None:
    if not probe.timeout_seconds:
        probe.timeout_seconds = 1
    if not probe.period_seconds:
        probe.period_seconds = 10
    if not probe.success_threshold:
        probe.success_threshold = 1
    if not probe.failure_threshold:
        probe.failure_threshold = 3
    if probe.HasField("http_get"):
        if not probe.http_get.path:
            probe.http_get.path = "/"
        if not probe.http_get.scheme:
            probe.http_get.scheme = "HTTP"


def pull_policy_for(image: str) -> str:
    """Always for `:latest` or an untagged image, else IfNotPresent (as Kubernetes)."""
    if "@" in image:  # pinned by digest
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"
