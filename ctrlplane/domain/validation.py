"""Validation of DaemonSets, Pods and node facts, as Kubernetes' API validation does it.

`validate_daemon_set` / `validate_pod` raise InvalidSpec carrying every
FieldError (they never stop at the first); the `*_errors` helpers return the
list so that the API can validate Label / Taint requests with the same rules.
Objects are validated after defaulting (see defaults.py). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain import fielderrors as fe
from ctrlplane.domain import names
from ctrlplane.domain.defaults import EXTENSIONS_V1BETA1
from ctrlplane.domain.errors import FieldError
from ctrlplane.domain.intorpercent import int_or_percent_errors, is_zero
from ctrlplane.domain.labels import compile_selector, selector_errors
from ctrlplane.domain.podvalidation import label_map_errors, names_errors, pod_spec_errors
from ctrlplane.domain.taints import EFFECTS

UPDATE_STRATEGIES = ("RollingUpdate", "OnDelete")


def validate_daemon_set(ds: objects_pb2.DaemonSet) -> None:
    fe.raise_if_any(daemon_set_errors(ds))


def validate_pod(pod: objects_pb2.Pod) -> None:
    fe.raise_if_any(pod_errors(pod))


def daemon_set_errors(ds: objects_pb2.DaemonSet) -> list[FieldError]:
    errors = object_meta_errors(ds.metadata, "metadata")
    spec = ds.spec
    errors += _selector(spec)
    template = spec.template
    errors += label_map_errors(template.metadata.labels, "spec.template.metadata.labels")
    errors += annotation_errors(template.metadata.annotations, "spec.template.metadata.annotations")
    errors += pod_spec_errors(template.spec, "spec.template.spec")
    if template.spec.restart_policy and template.spec.restart_policy != "Always":
        errors.append(
            fe.not_supported(
                "spec.template.spec.restartPolicy", template.spec.restart_policy, ["Always"]
            )
        )
    errors += fe.non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    errors += fe.non_negative("spec.templateGeneration", spec.template_generation)
    if spec.HasField("revision_history_limit"):
        errors += fe.non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)
    errors += _update_strategy(spec.update_strategy, "spec.updateStrategy")
    # Our extension (Nomad's progress_deadline): 0 = none; a deadline no longer
    # than minReadySeconds could never be met, as in Deployment validation.
    errors += fe.non_negative("spec.progressDeadlineSeconds", spec.progress_deadline_seconds)
    if 0 < spec.progress_deadline_seconds <= spec.min_ready_seconds:
        errors.append(
            fe.invalid(
                "spec.progressDeadlineSeconds",
                spec.progress_deadline_seconds,
                "must be greater than minReadySeconds",
            )
        )
    if spec.auto_rollback and not spec.progress_deadline_seconds:
        errors.append(
            fe.required("spec.progressDeadlineSeconds", "autoRollback needs a progress deadline")
        )
    return errors


def daemon_set_update_errors(
    old: objects_pb2.DaemonSet, new: objects_pb2.DaemonSet, written_version: str = ""
) -> list[FieldError]:
    """What an update may not change: the selector (except in extensions/v1beta1).

    `written_version` is the apiVersion the new object was written in (before
    defaulting recorded it as apps/v1): Kubernetes lets only
    extensions/v1beta1 change a DaemonSet's selector, because that version
    derives it from the template labels.
    """
    if written_version == EXTENSIONS_V1BETA1 or old.spec.selector == new.spec.selector:
        return []
    return [fe.invalid("spec.selector", new.spec.selector, "field is immutable")]


def _selector(spec: objects_pb2.DaemonSetSpec) -> list[FieldError]:
    if not spec.HasField("selector"):
        return [fe.required("spec.selector")]
    selector = spec.selector
    errors = selector_errors(selector, "spec.selector")
    if not selector.match_labels and not selector.match_expressions:
        errors.append(
            fe.invalid("spec.selector", selector, "empty selector is invalid for daemonset")
        )
    elif not errors and not compile_selector(selector).matches(spec.template.metadata.labels):
        errors.append(
            fe.invalid(
                "spec.template.metadata.labels",
                dict(spec.template.metadata.labels),
                "`selector` does not match template `labels`",
            )
        )
    return errors


def _update_strategy(strategy: objects_pb2.DaemonSetUpdateStrategy, path: str) -> list[FieldError]:
    if strategy.type not in UPDATE_STRATEGIES:
        return [fe.not_supported(f"{path}.type", strategy.type, UPDATE_STRATEGIES)]
    has_rolling = strategy.HasField("rolling_update")
    if strategy.type == "OnDelete":
        if has_rolling and (
            strategy.rolling_update.max_unavailable or strategy.rolling_update.max_surge
        ):
            return [
                fe.forbidden(
                    f"{path}.rollingUpdate", "only allowed for updateStrategy 'RollingUpdate'"
                )
            ]
        return []
    if not has_rolling:
        return [fe.required(f"{path}.rollingUpdate")]
    rolling = strategy.rolling_update
    p = f"{path}.rollingUpdate"
    errors = int_or_percent_errors(rolling.max_unavailable, f"{p}.maxUnavailable")
    errors += int_or_percent_errors(rolling.max_surge, f"{p}.maxSurge")
    if errors:
        return errors
    has_unavailable = not is_zero(rolling.max_unavailable)
    has_surge = not is_zero(rolling.max_surge)
    if has_unavailable and has_surge:
        # As Kubernetes: a surge replaces pods add-first, so it needs maxUnavailable: 0.
        errors.append(
            fe.invalid(
                f"{p}.maxSurge", rolling.max_surge, "may not be set when maxUnavailable is non-zero"
            )
        )
    elif not has_unavailable and not has_surge:
        errors.append(fe.required(f"{p}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    return errors


def pod_errors(pod: objects_pb2.Pod) -> list[FieldError]:
    errors = object_meta_errors(pod.metadata, "metadata")
    errors += pod_spec_errors(pod.spec, "spec")
    return errors


def object_meta_errors(meta: objects_pb2.ObjectMeta, path: str) -> list[FieldError]:
    """ValidateObjectMeta for a namespaced object whose name is a DNS-1123 subdomain."""
    errors: list[FieldError] = []
    if not meta.name:
        errors.append(fe.required(f"{path}.name", "name is required"))
    else:
        errors += names_errors(meta.name, f"{path}.name", "subdomain")
    if not meta.namespace:
        errors.append(fe.required(f"{path}.namespace"))
    else:
        errors += names_errors(meta.namespace, f"{path}.namespace")
    errors += label_map_errors(meta.labels, f"{path}.labels")
    errors += annotation_errors(meta.annotations, f"{path}.annotations")
    return errors


def annotation_errors(annotations: Mapping[str, str], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key in sorted(annotations):
        errors += [fe.invalid(path, key, m) for m in names.is_qualified_name(key.lower())]
    if names.annotations_size(annotations) > names.TOTAL_ANNOTATION_SIZE_LIMIT:
        errors.append(fe.too_long(path, names.TOTAL_ANNOTATION_SIZE_LIMIT))
    return errors


# ---- node facts (the API validates Label / Taint / registration requests with these) ----


def node_name_errors(name: str, path: str = "metadata.name") -> list[FieldError]:
    """A node name is a DNS-1123 subdomain."""
    if not name:
        return [fe.required(path)]
    return names_errors(name, path, "subdomain")


def validate_node_name(name: str, path: str = "metadata.name") -> None:
    fe.raise_if_any(node_name_errors(name, path))


def labels_errors(labels: Mapping[str, str], path: str = "metadata.labels") -> list[FieldError]:
    """Every key a qualified name, every value a label value."""
    return label_map_errors(labels, path)


def label_key_errors(key: str, path: str = "metadata.labels") -> list[FieldError]:
    """For a label removal (`key-`): only the key is checked."""
    return [fe.invalid(path, key, m) for m in names.is_qualified_name(key)]


def validate_labels(labels: Mapping[str, str], path: str = "metadata.labels") -> None:
    fe.raise_if_any(labels_errors(labels, path))


def taints_errors(
    taints: Sequence[objects_pb2.Taint], path: str = "spec.taints"
) -> list[FieldError]:
    """Kubernetes' validateNodeTaints: key, value, effect, and unique by (key, effect)."""
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        p = f"{path}[{i}]"
        if not taint.key:
            errors.append(fe.required(f"{p}.key"))
        else:
            errors += [
                fe.invalid(f"{p}.key", taint.key, m) for m in names.is_qualified_name(taint.key)
            ]
        errors += [
            fe.invalid(f"{p}.value", taint.value, m)
            for m in names.is_valid_label_value(taint.value)
        ]
        if not taint.effect:
            errors.append(fe.required(f"{p}.effect"))
        elif taint.effect not in EFFECTS:
            errors.append(fe.not_supported(f"{p}.effect", taint.effect, EFFECTS))
        if (taint.key, taint.effect) in seen:
            errors.append(fe.duplicate(p, f"{taint.key}:{taint.effect}"))
        seen.add((taint.key, taint.effect))
    return errors


def validate_taints(taints: Sequence[objects_pb2.Taint], path: str = "spec.taints") -> None:
    fe.raise_if_any(taints_errors(taints, path))
