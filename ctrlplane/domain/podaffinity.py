"""Inter-pod affinity: podAffinity / podAntiAffinity terms over topology domains.

Owns the pod-side view of the cluster (`PodInfo`, the `PodsByTopology` protocol and a
plain in-memory `TopologyIndex`), compiling affinity terms, and deciding whether a
term holds for a node. Must not read state itself: the cluster comes in through
`PodsByTopology`.

Semantics (scheduler plugin interpodaffinity, simplified for DaemonSets):
- A term's domain is the set of nodes sharing the node's value of `topologyKey`.
- Required affinity: some matching pod in the domain; a node without the key fails.
- Required anti-affinity: no matching pod in the domain; a node without the key passes.
- Namespaces: `namespaces` empty and no `namespaceSelector` = the pod's own namespace.
  A `namespaceSelector` is matched against the label every Kubernetes namespace carries,
  `kubernetes.io/metadata.name=<ns>` (we keep no Namespace objects): `{}` selects every
  namespace, `matchLabels: {kubernetes.io/metadata.name: x}` selects x, other labels
  select nothing. The result is ORed with `namespaces`, as in Kubernetes.
- Pods of the DaemonSet being placed (`self_owner`) on the node itself are ignored: they
  are the pod being placed or replaced. Its pods on other nodes of the domain count.
- A malformed or nil labelSelector matches no pod.
Left out, as Kubernetes does them: the first-pod exception for self-affinity, and the
existing pods' own anti-affinity towards the incoming pod (PodInfo does not carry it).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FieldError
from ctrlplane.domain.labels import Selector, compile_selector, selector_errors

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True, slots=True)
class PodInfo:
    """A pod as the affinity rules see it."""

    namespace: str
    labels: Mapping[str, str]
    # (namespace, daemon set name), or None for static pods and other pods.
    owner: tuple[str, str] | None = None


class PodsByTopology(Protocol):
    """What the affinity rules may ask about the cluster (the controller implements it)."""

    def nodes_in_domain(self, topology_key: str, value: str) -> Iterable[str]:
        """Names of the nodes whose label `topology_key` equals `value`."""
        ...

    def pods_on_node(self, node_name: str) -> Iterable[PodInfo]:
        """The pods running (as the log says) on that node, static pods included."""
        ...


@dataclass(slots=True)
class TopologyIndex:
    """A PodsByTopology over plain mappings, indexing each topology key on first use."""

    node_labels: Mapping[str, Mapping[str, str]]
    pods_by_node: Mapping[str, Sequence[PodInfo]]
    _domains: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def nodes_in_domain(self, topology_key: str, value: str) -> Iterable[str]:
        index = self._domains.get(topology_key)
        if index is None:
            index = {}
            for name, labels in self.node_labels.items():
                v = labels.get(topology_key)
                if v is not None:
                    index.setdefault(v, []).append(name)
            self._domains[topology_key] = index
        return index.get(value, ())

    def pods_on_node(self, node_name: str) -> Iterable[PodInfo]:
        return self.pods_by_node.get(node_name, ())


NO_PODS: PodsByTopology = TopologyIndex({}, {})


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A compiled PodAffinityTerm (with its weight when preferred, 0 when required)."""

    index: int
    anti: bool
    selector: Selector
    namespaces: frozenset[str]
    namespace_selector: Selector | None
    topology_key: str
    weight: int = 0
    selector_text: str = ""  # selector.describe(), kept for reasons

    @property
    def kind(self) -> str:
        return "podAntiAffinity" if self.anti else "podAffinity"

    def selects_namespace(self, namespace: str) -> bool:
        if namespace in self.namespaces:
            return True
        sel = self.namespace_selector
        return sel is not None and sel.matches({NAMESPACE_NAME_LABEL: namespace})

    def selects(self, pod: PodInfo) -> bool:
        return self.selects_namespace(pod.namespace) and self.selector.matches(pod.labels)

    def describe(self) -> str:
        return f"{self.kind} term {self.index}"


def compile_term(
    namespace: str, index: int, term: objects_pb2.PodAffinityTerm, *, anti: bool, weight: int = 0
) -> AffinityTerm:
    ns_selector = (
        compile_selector(term.namespace_selector) if term.HasField("namespace_selector") else None
    )
    namespaces = frozenset(term.namespaces)
    if not namespaces and ns_selector is None:
        namespaces = frozenset({namespace})
    selector = compile_selector(term.label_selector if term.HasField("label_selector") else None)
    return AffinityTerm(
        index=index,
        anti=anti,
        selector=selector,
        namespaces=namespaces,
        namespace_selector=ns_selector,
        topology_key=term.topology_key,
        weight=weight,
        selector_text=selector.describe(),
    )


@dataclass(frozen=True, slots=True)
class PodAffinityRules:
    """All pod (anti-)affinity terms of one spec."""

    required: tuple[AffinityTerm, ...]  # affinity terms first, then anti-affinity
    preferred: tuple[AffinityTerm, ...]

    def __bool__(self) -> bool:
        return bool(self.required or self.preferred)


def compile_rules(namespace: str, spec: objects_pb2.PodSpec) -> PodAffinityRules:
    required: list[AffinityTerm] = []
    preferred: list[AffinityTerm] = []
    if spec.HasField("affinity"):
        aff = spec.affinity
        for anti, holder in (
            (False, aff.pod_affinity if aff.HasField("pod_affinity") else None),
            (True, aff.pod_anti_affinity if aff.HasField("pod_anti_affinity") else None),
        ):
            if holder is None:
                continue
            for i, t in enumerate(holder.required_during_scheduling_ignored_during_execution):
                required.append(compile_term(namespace, i, t, anti=anti))
            for i, w in enumerate(holder.preferred_during_scheduling_ignored_during_execution):
                if w.weight:
                    preferred.append(
                        compile_term(namespace, i, w.pod_affinity_term, anti=anti, weight=w.weight)
                    )
    return PodAffinityRules(tuple(required), tuple(preferred))


@dataclass(frozen=True, slots=True)
class _Domain:
    """Pods matching one term in one topology domain."""

    total: int
    own: dict[str, int]  # node -> matching pods owned by self_owner
    other: str  # smallest name of a node with a matching pod not owned by self_owner
    own_smallest: tuple[str, ...]  # the two smallest names in `own`


class DomainCounter:
    """Counts pods matching a term in a topology domain, cached for one pass over nodes.

    Valid while the pods behind `pods` do not change: make a new one per pass.
    """

    __slots__ = ("_cache", "pods", "self_owner")

    def __init__(self, pods: PodsByTopology, self_owner: tuple[str, str] | None) -> None:
        self.pods = pods
        self.self_owner = self_owner
        self._cache: dict[tuple[int, str], _Domain] = {}

    def _domain(self, term: AffinityTerm, value: str) -> _Domain:
        key = (id(term), value)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        total = 0
        own: dict[str, int] = {}
        first = ""
        owner = self.self_owner
        for node_name in self.pods.nodes_in_domain(term.topology_key, value):
            for pod in self.pods.pods_on_node(node_name):
                if term.selects(pod):
                    total += 1
                    if owner is not None and pod.owner == owner:
                        own[node_name] = own.get(node_name, 0) + 1
                    elif not first or node_name < first:
                        # The smallest name, not the first seen: domains may be sets, and
                        # reasons must not depend on their order (replay compares them).
                        first = node_name
        hit = _Domain(total, own, first, tuple(heapq.nsmallest(2, own)))
        self._cache[key] = hit
        return hit

    def matching(self, term: AffinityTerm, value: str, node_name: str) -> tuple[int, str]:
        """(matching pods in the domain, not counting self-owned ones on `node_name`;
        a node holding one of them, preferring pods not of this DaemonSet)."""
        d = self._domain(term, value)
        count = d.total - d.own.get(node_name, 0)
        first = d.other
        if count and not first:
            first = next(n for n in d.own_smallest if n != node_name)
        return count, first

    def forget(self, term: AffinityTerm, value: str) -> None:
        """Drop the cached counts of one domain (its pods changed)."""
        self._cache.pop((id(term), value), None)


def check_required(
    rules: PodAffinityRules, node: objects_pb2.Node, counter: DomainCounter
) -> tuple[AffinityTerm, str] | None:
    """The first required term the node breaks and why, or None when all hold."""
    labels = node.metadata.labels
    name = node.metadata.name
    for term in rules.required:
        value = labels.get(term.topology_key)
        if value is None:
            if term.anti:
                continue
            return term, f"{term.describe()}: node has no label {term.topology_key}"
        count, where = counter.matching(term, value, name)
        if term.anti and count:
            return term, (
                f"{term.describe()}: pod matching {term.selector_text} in"
                f" {term.topology_key}={value} (on node {where})"
            )
        if not term.anti and not count:
            return term, (
                f"{term.describe()}: no pod matching {term.selector_text} in"
                f" {term.topology_key}={value}"
            )
    return None


def preferred_score(rules: PodAffinityRules, node: objects_pb2.Node, counter: DomainCounter) -> int:
    """+weight per preferred affinity term that holds, -weight per anti-affinity term hit."""
    score = 0
    labels = node.metadata.labels
    for term in rules.preferred:
        value = labels.get(term.topology_key)
        if value is None:
            continue
        if counter.matching(term, value, node.metadata.name)[0]:
            score += -term.weight if term.anti else term.weight
    return score


def pod_affinity_errors(spec: objects_pb2.PodSpec, path: str = "spec") -> list[FieldError]:
    """Validation of the spec's pod (anti-)affinity terms, with field paths."""
    errors: list[FieldError] = []
    if not spec.HasField("affinity"):
        return errors
    for name, holder in (
        ("podAffinity", spec.affinity.pod_affinity),
        ("podAntiAffinity", spec.affinity.pod_anti_affinity),
    ):
        base = f"{path}.affinity.{name}"
        terms = [
            (f"{base}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", t)
            for i, t in enumerate(holder.required_during_scheduling_ignored_during_execution)
        ]
        for i, w in enumerate(holder.preferred_during_scheduling_ignored_during_execution):
            p = f"{base}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not 1 <= w.weight <= 100:
                errors.append(FieldError(f"{p}.weight", "must be in the range 1-100"))
            terms.append((f"{p}.podAffinityTerm", w.pod_affinity_term))
        for p, t in terms:
            if not t.topology_key:
                errors.append(FieldError(f"{p}.topologyKey", "can not be empty"))
            errors += selector_errors(t.label_selector, f"{p}.labelSelector")
            errors += selector_errors(t.namespace_selector, f"{p}.namespaceSelector")
    return errors


__all__ = [
    "NAMESPACE_NAME_LABEL",
    "NO_PODS",
    "AffinityTerm",
    "DomainCounter",
    "PodAffinityRules",
    "PodInfo",
    "PodsByTopology",
    "TopologyIndex",
    "check_required",
    "compile_rules",
    "pod_affinity_errors",
    "preferred_score",
]
