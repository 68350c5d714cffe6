"""Read model to wire objects: Node with its Ready condition, RFC 3339 times.

Only the shapes the API returns that the domain does not already build
(daemon-set status and pod objects are ctrlplane.domain's). No appends.
"""

from __future__ import annotations

from ctrlplane._proto.v1 import objects_pb2
from ctrlplane.domain.pods import rfc3339
from ctrlplane.domain.state import NodeState


def node_ready(node: NodeState) -> objects_pb2.NodeCondition:
    """Ready as kubectl shows it: True while the agent holds its stream and lease."""
    if node.lost:
        return objects_pb2.NodeCondition(
            type="Ready",
            status="Unknown",
            reason="NodeStatusUnknown",
            message="Agent stopped posting node status (lease expired).",
        )
    if node.connected:
        return objects_pb2.NodeCondition(
            type="Ready", status="True", reason="AgentReady", message="agent is connected"
        )
    return objects_pb2.NodeCondition(
        type="Ready",
        status="Unknown",
        reason="AgentNotConnected",
        message="No agent is connected for this node.",
    )


def node_object(node: NodeState) -> objects_pb2.Node:
    obj = objects_pb2.Node()
    obj.CopyFrom(node.node)
    obj.api_version = "v1"
    obj.kind = "Node"
    if not obj.metadata.creation_timestamp:
        obj.metadata.creation_timestamp = rfc3339(node.registered_at)
    obj.metadata.resource_version = str(node.version)
    del obj.status.conditions[:]
    obj.status.conditions.append(node_ready(node))
    return obj
