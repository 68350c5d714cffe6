"""Whether a DaemonSet's pod belongs on a node: the one entry point of scheduling.

Owns the verdict (should_run / should_continue, as Kubernetes' NodeShouldRunDaemonPod)
and the per-spec compilation that makes it cheap. Must not read state or do I/O:
the pods around a node come in through the `PodsByTopology` protocol.

CONTRACT (stable; the controller codes against it):
    PodInfo, PodsByTopology, Verdict,
    compile_spec(namespace, spec) -> CompiledSpec
        .evaluate(node, pods, self_owner=None) -> Verdict
        .preferred_score(node, pods, self_owner=None) -> int
        .batch(pods, self_owner=None) -> SpecBatch   (caches topology-domain lookups
            for one pass over many nodes; .evaluate(node), .preferred_score(node),
            .pods_changed(node) when the pass adds or removes pods on a node)
    evaluate(node, namespace, spec, pods, *, self_owner=None) -> Verdict
    preferred_score(node, namespace, spec, pods, *, self_owner=None) -> int

Rules, in the order they decide (the first that fails gives the verdict):
  1. spec.nodeName names another node            -> run no, continue no   (NodeName)
  2. a nodeSelector key/value differs            -> run no, continue no   (NodeSelector)
  3. no required nodeAffinity term matches       -> run no, continue no   (NodeAffinity)
  4. an untolerated NoExecute taint              -> run no, continue no   (Taint)
     an untolerated NoSchedule taint             -> run no, continue yes  (Taint)
     (tolerations = the spec's + the DaemonSet defaults; PreferNoSchedule never blocks;
     spec.unschedulable is ignored, as DaemonSets do)
  5. a required pod (anti-)affinity term breaks  -> run no, continue yes  (PodAffinity,
     PodAntiAffinity: IgnoredDuringExecution)
  otherwise                                      -> run yes, continue yes (Eligible)
Preferred terms never change the verdict; `preferred_score` ranks nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.errors import FieldError
from ctrlplane.domain.labels import label_key_error, label_value_error
from ctrlplane.domain.nodeaffinity import compile_preferred, compile_required, node_affinity_errors
from ctrlplane.domain.podaffinity import (
    NO_PODS,
    DomainCounter,
    PodInfo,
    PodsByTopology,
    TopologyIndex,
    check_required,
    compile_rules,
    pod_affinity_errors,
)
from ctrlplane.domain.podaffinity import preferred_score as pod_preferred_score
from ctrlplane.domain.taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    Tolerations,
    daemon_set_tolerations,
    format_taint,
    toleration_errors,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one (spec, node) pair and the rule that made it."""

    should_run: bool  # schedule a new pod here
    should_continue: bool  # keep an existing pod here
    reason: str  # human-readable: which rule decided and why
    rule: str  # NodeName, NodeSelector, NodeAffinity, Taint, PodAffinity, PodAntiAffinity, Eligible


# Rule codes, for callers that compare rather than print.
RULE_NODE_NAME = "NodeName"
RULE_NODE_SELECTOR = "NodeSelector"
RULE_NODE_AFFINITY = "NodeAffinity"
RULE_TAINT = "Taint"
RULE_POD_AFFINITY = "PodAffinity"
RULE_POD_ANTI_AFFINITY = "PodAntiAffinity"
RULE_ELIGIBLE = "Eligible"


# The common answer is shared, never allocated per node.
ELIGIBLE = Verdict(True, True, "eligible", RULE_ELIGIBLE)

# Per-spec caches of failure verdicts (keyed by the node's offending value) stop growing
# here; past it, verdicts are allocated per call. Bounds memory for hostname selectors.
_CACHE_LIMIT = 4096


class CompiledSpec:
    """A pod spec's scheduling rules compiled once, then evaluated against many nodes.

    Holds caches keyed by label values and taints, so keep one per (namespace, spec)
    and drop it when the spec changes. Not thread-safe (nothing here is).
    """

    __slots__ = (
        "_eligible",
        "_node_affinity_failed",
        "_node_name_failed",
        "_selector_verdicts",
        "_taint_verdicts",
        "namespace",
        "node_affinity",
        "node_name",
        "node_selector",
        "pod_affinity",
        "preferred_node_affinity",
        "tolerations",
    )

    def __init__(self, namespace: str, spec: objects_pb2.PodSpec) -> None:
        self.namespace = namespace
        self.node_name = spec.node_name
        self.node_selector: tuple[tuple[str, str], ...] = tuple(sorted(spec.node_selector.items()))
        self.node_affinity = compile_required(spec)
        self.preferred_node_affinity = compile_preferred(spec)
        self.tolerations = Tolerations(daemon_set_tolerations(spec))
        self.pod_affinity = compile_rules(namespace, spec)
        self._selector_verdicts: dict[tuple[str, str | None], Verdict] = {}
        self._taint_verdicts: dict[tuple[str, str, str], Verdict] = {}
        self._node_name_failed = Verdict(
            False, False, f"spec.nodeName is {self.node_name}", RULE_NODE_NAME
        )
        terms = self.node_affinity.terms
        self._node_affinity_failed = Verdict(
            False,
            False,
            "required nodeAffinity: node matches no term"
            + ("" if not terms else ": " + "; ".join(f"term {t.index} ({t.text})" for t in terms)),
            RULE_NODE_AFFINITY,
        )
        # One eligible verdict per matching term, so the reason can name it for free.
        self._eligible: tuple[Verdict, ...] = (ELIGIBLE,)
        if terms:
            self._eligible = tuple(
                Verdict(
                    True,
                    True,
                    f"required nodeAffinity term {t.index} matched ({t.text})",
                    RULE_ELIGIBLE,
                )
                for t in terms
            )

    # ---- eligibility ------------------------------------------------------------

    def evaluate(
        self,
        node: objects_pb2.Node,
        pods: PodsByTopology = NO_PODS,
        self_owner: tuple[str, str] | None = None,
    ) -> Verdict:
        """The verdict for this node; the module docstring lists the rules in order."""
        return self._evaluate(node, pods, self_owner, None)

    def batch(self, pods: PodsByTopology, self_owner: tuple[str, str] | None = None) -> SpecBatch:
        """An evaluator for one pass over many nodes that caches topology-domain counts."""
        return SpecBatch(self, DomainCounter(pods, self_owner))

    def _evaluate(
        self,
        node: objects_pb2.Node,
        pods: PodsByTopology,
        self_owner: tuple[str, str] | None,
        counter: DomainCounter | None,
    ) -> Verdict:
        meta = node.metadata
        if self.node_name and self.node_name != meta.name:
            return self._node_name_failed
        labels = meta.labels
        for key, want in self.node_selector:
            have = labels.get(key)
            if have != want:
                return self._selector_failed(key, want, have)
        term = 0
        if self.node_affinity.terms is not None:
            term = self.node_affinity.first_match(labels, meta.name)
            if term < 0:
                return self._node_affinity_failed
        taints = node.spec.taints
        if taints:
            verdict = self._taints_failed(taints)
            if verdict is not None:
                return verdict
        if self.pod_affinity.required:
            broken = check_required(
                self.pod_affinity, node, counter or DomainCounter(pods, self_owner)
            )
            if broken is not None:
                failed_term, why = broken
                rule = RULE_POD_ANTI_AFFINITY if failed_term.anti else RULE_POD_AFFINITY
                # IgnoredDuringExecution: a running pod stays.
                return Verdict(False, True, why, rule)
        return self._eligible[term]

    def _selector_failed(self, key: str, want: str, have: str | None) -> Verdict:
        cached = self._selector_verdicts.get((key, have))
        if cached is not None:
            return cached
        found = f"node has {key}={have}" if have is not None else f"node has no label {key}"
        verdict = Verdict(False, False, f"nodeSelector {key}={want}: {found}", RULE_NODE_SELECTOR)
        if len(self._selector_verdicts) < _CACHE_LIMIT:
            self._selector_verdicts[(key, have)] = verdict
        return verdict

    def _taints_failed(self, taints: Iterable[objects_pb2.Taint]) -> Verdict | None:
        no_schedule: objects_pb2.Taint | None = None
        for taint in taints:
            effect = taint.effect
            if effect == NO_EXECUTE:
                if not self.tolerations.tolerates(taint):
                    return self._taint_verdict(taint, keep=False)
            elif (
                effect == NO_SCHEDULE
                and no_schedule is None
                and not self.tolerations.tolerates(taint)
            ):
                no_schedule = taint
        if no_schedule is not None:
            return self._taint_verdict(no_schedule, keep=True)
        return None

    def _taint_verdict(self, taint: objects_pb2.Taint, *, keep: bool) -> Verdict:
        key = (taint.key, taint.value, taint.effect)
        cached = self._taint_verdicts.get(key)
        if cached is None:
            cached = Verdict(False, keep, f"taint {format_taint(taint)} not tolerated", RULE_TAINT)
            if len(self._taint_verdicts) < _CACHE_LIMIT:
                self._taint_verdicts[key] = cached
        return cached

    # ---- preference -------------------------------------------------------------

    def preferred_score(
        self,
        node: objects_pb2.Node,
        pods: PodsByTopology = NO_PODS,
        self_owner: tuple[str, str] | None = None,
    ) -> int:
        """Matched preferred nodeAffinity and podAffinity weights, minus podAntiAffinity ones."""
        return self._preferred_score(node, pods, self_owner, None)

    def _preferred_score(
        self,
        node: objects_pb2.Node,
        pods: PodsByTopology,
        self_owner: tuple[str, str] | None,
        counter: DomainCounter | None,
    ) -> int:
        score = self.preferred_node_affinity.score(node.metadata.labels, node.metadata.name)
        if self.pod_affinity.preferred:
            score += pod_preferred_score(
                self.pod_affinity, node, counter or DomainCounter(pods, self_owner)
            )
        return score


class SpecBatch:
    """One pass of a CompiledSpec over many nodes while the pods do not change."""

    __slots__ = ("compiled", "counter")

    def __init__(self, compiled: CompiledSpec, counter: DomainCounter) -> None:
        self.compiled = compiled
        self.counter = counter

    def evaluate(self, node: objects_pb2.Node) -> Verdict:
        c = self.counter
        return self.compiled._evaluate(node, c.pods, c.self_owner, c)

    def preferred_score(self, node: objects_pb2.Node) -> int:
        c = self.counter
        return self.compiled._preferred_score(node, c.pods, c.self_owner, c)

    def pods_changed(self, node: objects_pb2.Node) -> None:
        """Pods on `node` came or went: forget the cached counts of its topology domains.

        Cheaper than a new batch when a pass places pods one by one (anti-affinity).
        """
        labels = node.metadata.labels
        rules = self.compiled.pod_affinity
        for term in (*rules.required, *rules.preferred):
            value = labels.get(term.topology_key)
            if value is not None:
                self.counter.forget(term, value)


def compile_spec(namespace: str, spec: objects_pb2.PodSpec) -> CompiledSpec:
    """Compile once per (namespace, pod template spec); evaluate per node."""
    return CompiledSpec(namespace, spec)


def evaluate(
    node: objects_pb2.Node,
    namespace: str,
    spec: objects_pb2.PodSpec,
    pods: PodsByTopology = NO_PODS,
    *,
    self_owner: tuple[str, str] | None = None,
) -> Verdict:
    """One-shot `compile_spec(namespace, spec).evaluate(...)`; compile once for many nodes."""
    return CompiledSpec(namespace, spec).evaluate(node, pods, self_owner)


def preferred_score(
    node: objects_pb2.Node,
    namespace: str,
    spec: objects_pb2.PodSpec,
    pods: PodsByTopology = NO_PODS,
    *,
    self_owner: tuple[str, str] | None = None,
) -> int:
    """Matched preferred node-affinity and pod-affinity weights, minus matched anti-affinity."""
    return CompiledSpec(namespace, spec).preferred_score(node, pods, self_owner)


def scheduling_errors(spec: objects_pb2.PodSpec, path: str = "spec") -> list[FieldError]:
    """Validation of every scheduling field of a pod spec, with paths (for manifests)."""
    errors: list[FieldError] = []
    for key, value in sorted(spec.node_selector.items()):
        for problem in (label_key_error(key), label_value_error(value)):
            if problem:
                errors.append(FieldError(f"{path}.nodeSelector[{key}]", problem))
    errors += node_affinity_errors(spec, path)
    errors += pod_affinity_errors(spec, path)
    errors += toleration_errors(spec.tolerations, f"{path}.tolerations")
    return errors


__all__ = [
    "ELIGIBLE",
    "NO_PODS",
    "RULE_ELIGIBLE",
    "RULE_NODE_AFFINITY",
    "RULE_NODE_NAME",
    "RULE_NODE_SELECTOR",
    "RULE_POD_AFFINITY",
    "RULE_POD_ANTI_AFFINITY",
    "RULE_TAINT",
    "CompiledSpec",
    "PodInfo",
    "PodsByTopology",
    "SpecBatch",
    "TopologyIndex",
    "Verdict",
    "compile_spec",
    "evaluate",
    "preferred_score",
    "scheduling_errors",
]
