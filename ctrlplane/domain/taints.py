"""Taints and tolerations: matching, the DaemonSet default tolerations, kubectl taint syntax.

Owns whether a pod's tolerations tolerate a node's taints, the tolerations Kubernetes
adds to every DaemonSet pod (daemon/util AddOrUpdateDaemonPodTolerations), and parsing
and applying `dsctl taint nodes NAME k=v:Effect k:Effect- k-`. Must not know about labels
or affinity.

Semantics (core/v1 Toleration.ToleratesTaint): an empty toleration effect matches every
effect; an empty key with operator Exists matches every key; operator "" means Equal.
tolerationSeconds is ignored: the DaemonSet controller decides on presence alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FailedPrecondition, FieldError, InvalidSpec
from ctrlplane.domain.labels import label_key_error, label_value_error

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"
EFFECTS = (NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE)

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def tolerates(toleration: objects_pb2.Toleration, taint: objects_pb2.Taint) -> bool:
    """core/v1 Toleration.ToleratesTaint."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return toleration.operator == "Exists"


def _exists(key: str, effect: str) -> objects_pb2.Toleration:
    return objects_pb2.Toleration(key=key, operator="Exists", effect=effect)


def _same_toleration(a: objects_pb2.Toleration, b: objects_pb2.Toleration) -> bool:
    # core/v1 Toleration.MatchToleration: tolerationSeconds is not part of identity.
    return (a.key, a.operator, a.value, a.effect) == (b.key, b.operator, b.value, b.effect)


def daemon_set_tolerations(spec: objects_pb2.PodSpec) -> list[objects_pb2.Toleration]:
    """The spec's tolerations plus those Kubernetes adds to every DaemonSet pod.

    As AddOrUpdateTolerationInPodSpec: a default equal to a user toleration (same key,
    operator, value and effect) replaces it in place, otherwise it is appended.
    """
    result = [
        objects_pb2.Toleration(
            key=t.key,
            operator=t.operator,
            value=t.value,
            effect=t.effect,
            toleration_seconds=t.toleration_seconds,
        )
        for t in spec.tolerations
    ]
    defaults = [
        _exists(TAINT_NOT_READY, NO_EXECUTE),
        _exists(TAINT_UNREACHABLE, NO_EXECUTE),
        _exists(TAINT_DISK_PRESSURE, NO_SCHEDULE),
        _exists(TAINT_MEMORY_PRESSURE, NO_SCHEDULE),
        _exists(TAINT_PID_PRESSURE, NO_SCHEDULE),
        _exists(TAINT_UNSCHEDULABLE, NO_SCHEDULE),
    ]
    if spec.host_network:
        defaults.append(_exists(TAINT_NETWORK_UNAVAILABLE, NO_SCHEDULE))
    for default in defaults:
        for i, existing in enumerate(result):
            if _same_toleration(existing, default):
                result[i] = default
                break
        else:
            result.append(default)
    return result


def format_taint(taint: objects_pb2.Taint) -> str:
    """kubectl's form: key=value:Effect, or key:Effect when the value is empty."""
    value = f"={taint.value}" if taint.value else ""
    return f"{taint.key}{value}:{taint.effect}"


def format_toleration(t: objects_pb2.Toleration) -> str:
    key = t.key or "<all keys>"
    text = f"{key} Exists" if t.operator == "Exists" else f"{key}={t.value}"
    return f"{text}:{t.effect}" if t.effect else f"{text} (all effects)"


class Tolerations:
    """A pod's tolerations compiled for many nodes: answers are cached per distinct taint."""

    __slots__ = ("_cache", "tolerations")

    def __init__(self, tolerations: Iterable[objects_pb2.Toleration]) -> None:
        self.tolerations = tuple(tolerations)
        self._cache: dict[tuple[str, str, str], bool] = {}

    def tolerates(self, taint: objects_pb2.Taint) -> bool:
        key = (taint.key, taint.value, taint.effect)
        hit = self._cache.get(key)
        if hit is None:
            hit = any(tolerates(t, taint) for t in self.tolerations)
            self._cache[key] = hit
        return hit

    def first_untolerated(
        self, taints: Iterable[objects_pb2.Taint], effects: Sequence[str]
    ) -> objects_pb2.Taint | None:
        """The first taint with one of `effects` that no toleration tolerates."""
        for taint in taints:
            if taint.effect in effects and not self.tolerates(taint):
                return taint
        return None


# ---- kubectl taint syntax -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaintRemoval:
    """`key-` (every effect) or `key:Effect-` (that effect only)."""

    key: str
    effect: str = ""

    def __str__(self) -> str:
        return f"{self.key}:{self.effect}" if self.effect else self.key

    def matches(self, taint: objects_pb2.Taint) -> bool:
        return taint.key == self.key and (not self.effect or taint.effect == self.effect)


def _invalid(spec: str, why: str, path: str) -> InvalidSpec:
    return InvalidSpec([FieldError(path, f"invalid taint spec {spec!r}: {why}")])


def _parse_one(spec: str, path: str) -> tuple[str, str, str]:
    """(key, value, effect) of `key[=value][:effect]`, every part checked."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise _invalid(spec, "more than one ':'", path)
    key_value, effect = parts[0], parts[1] if len(parts) == 2 else ""
    if len(parts) == 2 and effect not in EFFECTS:
        raise _invalid(
            spec, f"unknown effect {effect!r}: must be one of {', '.join(EFFECTS)}", path
        )
    kv = key_value.split("=")
    if len(kv) > 2:
        raise _invalid(spec, "more than one '='", path)
    key, value = kv[0], kv[1] if len(kv) == 2 else ""
    for problem in (label_key_error(key), label_value_error(value)):
        if problem:
            raise _invalid(spec, problem, path)
    return key, value, effect


def parse_taint_specs(
    specs: Sequence[str], path: str = "taints"
) -> tuple[list[objects_pb2.Taint], list[TaintRemoval]]:
    """kubectl taint arguments: `k=v:Effect` and `k:Effect` add, `k-` and `k:Effect-` remove.

    A taint to add needs an effect; the same key and effect twice is an error.
    """
    to_add: list[objects_pb2.Taint] = []
    to_remove: list[TaintRemoval] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        if spec.endswith("-"):
            key, _, effect = _parse_one(spec[:-1], path)
            to_remove.append(TaintRemoval(key, effect))
            continue
        key, value, effect = _parse_one(spec, path)
        if not effect:
            raise _invalid(spec, "an effect is required to add a taint (key=value:Effect)", path)
        if (key, effect) in seen:
            raise _invalid(spec, "duplicated taint (same key and effect)", path)
        seen.add((key, effect))
        to_add.append(objects_pb2.Taint(key=key, value=value, effect=effect))
    for removal in to_remove:
        if any(removal.matches(t) for t in to_add):
            raise InvalidSpec(
                [FieldError(path, f"can not both modify and remove the taint {str(removal)!r}")]
            )
    return to_add, to_remove


def apply_taint_changes(
    node_name: str,
    current: Sequence[objects_pb2.Taint],
    to_add: Sequence[objects_pb2.Taint],
    to_remove: Sequence[TaintRemoval],
    *,
    overwrite: bool = False,
) -> list[objects_pb2.Taint]:
    """The node's new taints after `kubectl taint` (its errors and messages).

    A taint with the key and effect of an existing one replaces it only with `overwrite`.
    Existing taints keep their order; new ones are appended (kubectl puts new ones first;
    the order carries no meaning, and a stable one makes smaller diffs in the log).
    """
    if not overwrite:
        clashes = [
            format_taint(t)
            for t in to_add
            if any(c.key == t.key and c.effect == t.effect for c in current)
        ]
        if clashes:
            raise FailedPrecondition(
                f"node {node_name} already has {', '.join(clashes)} taint(s) with same"
                " effect(s) and --overwrite is false"
            )
    result = [
        objects_pb2.Taint(key=t.key, value=t.value, effect=t.effect, time_added=t.time_added)
        for t in current
    ]
    for new in to_add:
        for i, old in enumerate(result):
            if old.key == new.key and old.effect == new.effect:
                result[i] = objects_pb2.Taint(key=new.key, value=new.value, effect=new.effect)
                break
        else:
            result.append(objects_pb2.Taint(key=new.key, value=new.value, effect=new.effect))
    for removal in to_remove:
        kept = [t for t in result if not removal.matches(t)]
        if len(kept) == len(result):
            raise FailedPrecondition(f'taint "{removal}" not found on node {node_name}')
        result = kept
    return result


def toleration_errors(tolerations: Sequence[objects_pb2.Toleration], path: str) -> list[FieldError]:
    """Validation of tolerations as the Kubernetes API does it."""
    errors: list[FieldError] = []
    for i, t in enumerate(tolerations):
        p = f"{path}[{i}]"
        if t.key:
            problem = label_key_error(t.key)
            if problem:
                errors.append(FieldError(f"{p}.key", problem))
        if t.operator not in ("", "Equal", "Exists"):
            errors.append(
                FieldError(f"{p}.operator", f"unknown operator {t.operator!r}: Equal or Exists")
            )
        elif t.operator == "Exists" and t.value:
            errors.append(FieldError(f"{p}.value", "must be empty when operator is Exists"))
        elif t.operator != "Exists" and not t.key:
            errors.append(FieldError(f"{p}.operator", "must be Exists when key is empty"))
        if t.effect and t.effect not in EFFECTS:
            errors.append(
                FieldError(f"{p}.effect", f"unknown effect {t.effect!r}: {', '.join(EFFECTS)}")
            )
        if t.toleration_seconds and t.effect != NO_EXECUTE:
            errors.append(
                FieldError(f"{p}.tolerationSeconds", "only allowed with effect NoExecute")
            )
    return errors


__all__ = [
    "EFFECTS",
    "NO_EXECUTE",
    "NO_SCHEDULE",
    "PREFER_NO_SCHEDULE",
    "TaintRemoval",
    "Tolerations",
    "apply_taint_changes",
    "daemon_set_tolerations",
    "format_taint",
    "format_toleration",
    "parse_taint_specs",
    "tolerates",
    "toleration_errors",
]
