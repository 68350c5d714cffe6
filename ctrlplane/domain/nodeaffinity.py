"""Node affinity: nodeSelector maps, required node selector terms, preferred terms.

Owns matching a Node against a PodSpec's node constraints, compiled once per spec.
Must not know about taints or other pods.

Kubernetes semantics (component-helpers/scheduling/corev1/nodeaffinity): terms are
ORed, a term's expressions and fields ANDed; an empty term list or an empty term matches
nothing; Gt/Lt compare integers and a non-integer label never matches; matchFields
supports `metadata.name` with In/NotIn and exactly one value. A malformed term never
matches but does not stop the other terms from matching (k8s' LazyErrorNodeSelector).
Preferred terms with weight 0 are skipped; the score is the sum of matched weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FieldError
from ctrlplane.domain.labels import Requirement, Selector, requirement

NODE_NAME_FIELD = "metadata.name"
_NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def _requirement_text(expr: objects_pb2.NodeSelectorRequirement) -> str:
    if expr.operator in ("Exists", "DoesNotExist"):
        return f"{expr.key} {expr.operator}"
    return f"{expr.key} {expr.operator} [{' '.join(expr.values)}]"


def _term_text(term: objects_pb2.NodeSelectorTerm) -> str:
    parts = [_requirement_text(e) for e in term.match_expressions]
    parts += [_requirement_text(e) for e in term.match_fields]
    return ", ".join(parts) if parts else "<empty term>"


def _expression_errors(
    exprs: Sequence[objects_pb2.NodeSelectorRequirement], path: str
) -> tuple[list[Requirement], list[FieldError]]:
    reqs: list[Requirement] = []
    errors: list[FieldError] = []
    for i, expr in enumerate(exprs):
        if expr.operator not in _NODE_OPERATORS:
            errors.append(
                FieldError(
                    f"{path}[{i}].operator",
                    f"unknown operator {expr.operator!r}: must be one of"
                    f" {', '.join(_NODE_OPERATORS)}",
                )
            )
            continue
        try:
            reqs.append(requirement(expr.key, expr.operator, expr.values))
        except ValueError as e:
            errors.append(FieldError(f"{path}[{i}]", str(e)))
    return reqs, errors


def _field_errors(
    exprs: Sequence[objects_pb2.NodeSelectorRequirement], path: str
) -> tuple[list[tuple[bool, str]], list[FieldError]]:
    """matchFields as (wanted-equal, name) pairs; only metadata.name In/NotIn [one]."""
    fields: list[tuple[bool, str]] = []
    errors: list[FieldError] = []
    for i, expr in enumerate(exprs):
        if expr.key != NODE_NAME_FIELD:
            errors.append(
                FieldError(
                    f"{path}[{i}].key", f"unsupported field {expr.key!r}: only metadata.name"
                )
            )
        elif expr.operator not in ("In", "NotIn"):
            errors.append(
                FieldError(
                    f"{path}[{i}].operator",
                    f"unsupported operator {expr.operator!r} for matchFields: must be In or NotIn",
                )
            )
        elif len(expr.values) != 1:
            errors.append(FieldError(f"{path}[{i}].values", "must have exactly one element"))
        else:
            fields.append((expr.operator == "In", expr.values[0]))
    return fields, errors


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    """One NodeSelectorTerm, ready to match; `valid` false means it matches nothing."""

    index: int
    labels: Selector
    fields: tuple[tuple[bool, str], ...]
    valid: bool
    text: str

    def matches(self, node_labels: Mapping[str, str], node_name: str) -> bool:
        if not self.valid:
            return False
        for equal, name in self.fields:
            if (node_name == name) != equal:
                return False
        return self.labels.matches(node_labels)


def compile_term(
    index: int, term: objects_pb2.NodeSelectorTerm, path: str
) -> tuple[CompiledTerm, list[FieldError]]:
    reqs, errors = _expression_errors(term.match_expressions, f"{path}.matchExpressions")
    fields, field_errors = _field_errors(term.match_fields, f"{path}.matchFields")
    errors += field_errors
    empty = not term.match_expressions and not term.match_fields
    compiled = CompiledTerm(
        index=index,
        labels=Selector(tuple(reqs)),
        fields=tuple(fields),
        valid=not errors and not empty,
        text=_term_text(term),
    )
    return compiled, errors


_REQUIRED_PATH = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED_PATH = "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"


@dataclass(frozen=True, slots=True)
class RequiredNodeAffinity:
    """The required node selector; None terms means the spec has no such constraint."""

    terms: tuple[CompiledTerm, ...] | None

    def first_match(self, node_labels: Mapping[str, str], node_name: str) -> int:
        """Index of the first matching term, -1 if none (always 0 when unconstrained)."""
        if self.terms is None:
            return 0
        for term in self.terms:
            if term.matches(node_labels, node_name):
                return term.index
        return -1


@dataclass(frozen=True, slots=True)
class PreferredNodeAffinity:
    terms: tuple[tuple[int, CompiledTerm], ...]  # (weight, term)

    def score(self, node_labels: Mapping[str, str], node_name: str) -> int:
        return sum(w for w, t in self.terms if t.matches(node_labels, node_name))


def compile_required(spec: objects_pb2.PodSpec) -> RequiredNodeAffinity:
    """The required node affinity of a spec; malformed terms compile to never-matching."""
    return _required(spec)[0]


def _required(spec: objects_pb2.PodSpec) -> tuple[RequiredNodeAffinity, list[FieldError]]:
    if not spec.HasField("affinity") or not spec.affinity.HasField("node_affinity"):
        return RequiredNodeAffinity(None), []
    na = spec.affinity.node_affinity
    if not na.HasField("required_during_scheduling_ignored_during_execution"):
        return RequiredNodeAffinity(None), []
    terms: list[CompiledTerm] = []
    errors: list[FieldError] = []
    for i, term in enumerate(
        na.required_during_scheduling_ignored_during_execution.node_selector_terms
    ):
        compiled, errs = compile_term(i, term, f"{_REQUIRED_PATH}.nodeSelectorTerms[{i}]")
        terms.append(compiled)
        errors += errs
    return RequiredNodeAffinity(tuple(terms)), errors


def compile_preferred(spec: objects_pb2.PodSpec) -> PreferredNodeAffinity:
    return _preferred(spec)[0]


def _preferred(spec: objects_pb2.PodSpec) -> tuple[PreferredNodeAffinity, list[FieldError]]:
    if not spec.HasField("affinity") or not spec.affinity.HasField("node_affinity"):
        return PreferredNodeAffinity(()), []
    terms: list[tuple[int, CompiledTerm]] = []
    errors: list[FieldError] = []
    preferred = spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
    for i, pref in enumerate(preferred):
        path = f"{_PREFERRED_PATH}[{i}]"
        if not 1 <= pref.weight <= 100:
            errors.append(FieldError(f"{path}.weight", "must be in the range 1-100"))
        compiled, errs = compile_term(i, pref.preference, f"{path}.preference")
        errors += errs
        if pref.weight != 0:
            terms.append((pref.weight, compiled))
    return PreferredNodeAffinity(tuple(terms)), errors


def node_affinity_errors(spec: objects_pb2.PodSpec, path: str = "spec") -> list[FieldError]:
    """Every problem in the spec's node affinity, with paths under `path` (for validation)."""
    errors = _required(spec)[1] + _preferred(spec)[1]
    return [FieldError(f"{path}.{e.path}", e.message) for e in errors]


__all__ = [
    "NODE_NAME_FIELD",
    "CompiledTerm",
    "PreferredNodeAffinity",
    "RequiredNodeAffinity",
    "compile_preferred",
    "compile_required",
    "compile_term",
    "node_affinity_errors",
]
