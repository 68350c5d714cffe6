"""Plan: what applying a daemon set would do, computed from the folded state, appending nothing.

For every node: would it gain, lose, replace or keep a pod of this daemon set
under the new spec (the eligibility rules, and the template hash for
replacements), with the rule's reason and the preferred-affinity score; plus
a unified YAML diff of the spec. Rollout pacing (maxUnavailable, surge) is
not simulated: the plan says where pods end up, not in which order.
"""

from __future__ import annotations

import difflib

import yaml
from google.protobuf import json_format

from ctrlplane._proto.v1 import api_pb2, objects_pb2
from ctrlplane.domain.eligibility import compile_spec
from ctrlplane.domain.revisions import template_hash
from ctrlplane.domain.state import ClusterState, DaemonSetState


def spec_yaml(obj: objects_pb2.DaemonSet | None) -> list[str]:
    """The object's metadata labels/annotations and spec as YAML lines, for diffs."""
    if obj is None:
        return []
    shown = objects_pb2.DaemonSet()
    shown.metadata.labels.update(obj.metadata.labels)
    shown.metadata.annotations.update(obj.metadata.annotations)
    shown.spec.CopyFrom(obj.spec)
    data = json_format.MessageToDict(shown)
    text = yaml.safe_dump(data, sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


def spec_diff(current: objects_pb2.DaemonSet | None, planned: objects_pb2.DaemonSet) -> str:
    name = planned.metadata.name
    return "".join(
        difflib.unified_diff(
            spec_yaml(current),
            spec_yaml(planned),
            fromfile=f"daemonset/{name} (current)",
            tofile=f"daemonset/{name} (planned)",
        )
    )


def node_changes(
    state: ClusterState, current: DaemonSetState | None, planned: objects_pb2.DaemonSet
) -> list[api_pb2.NodeChange]:
    """Per node (sorted by name): create, delete, replace or keep, with the reason."""
    namespace = planned.metadata.namespace
    key = (namespace, planned.metadata.name)
    batch = compile_spec(namespace, planned.spec.template.spec).batch(state, key)
    new_hash = template_hash(planned.spec.template)
    on_delete = planned.spec.update_strategy.type == "OnDelete"
    changes: list[api_pb2.NodeChange] = []
    for name in sorted(state.nodes):
        node = state.nodes[name]
        pods = (
            state.daemon_pods_on_node(current, name)
            if current is not None and not current.deleted
            else []
        )
        verdict = batch.evaluate(node.node)
        score = batch.preferred_score(node.node)
        if not pods:
            if verdict.should_run:
                changes.append(
                    api_pb2.NodeChange(
                        node_name=name, action="create", reason=verdict.reason, score=score
                    )
                )
            continue
        pod = min(pods, key=lambda p: p.scheduled_seq)
        if not verdict.should_continue:
            action, reason = "delete", verdict.reason
        elif pod.revision_hash != new_hash:
            action = "replace"
            reason = f"template changed ({pod.revision_hash} -> {new_hash})"
            if on_delete:
                reason += ", when the pod is deleted (OnDelete)"
        else:
            action, reason = "keep", "up to date"
        changes.append(
            api_pb2.NodeChange(
                node_name=name, action=action, pod_name=pod.key[1], reason=reason, score=score
            )
        )
    return changes
