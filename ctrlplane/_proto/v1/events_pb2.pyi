from ctrlplane._proto.v1 import objects_pb2 as _objects_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DaemonSetApplied(_message.Message):
    __slots__ = ("daemon_set", "template_hash", "change_cause")
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_HASH_FIELD_NUMBER: _ClassVar[int]
    CHANGE_CAUSE_FIELD_NUMBER: _ClassVar[int]
    daemon_set: _objects_pb2.DaemonSet
    template_hash: str
    change_cause: str
    def __init__(self, daemon_set: _Optional[_Union[_objects_pb2.DaemonSet, _Mapping]] = ..., template_hash: _Optional[str] = ..., change_cause: _Optional[str] = ...) -> None: ...

class DaemonSetDeleted(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DaemonSetRolledBack(_message.Message):
    __slots__ = ("daemon_set", "template_hash", "to_revision", "reason")
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_HASH_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    daemon_set: _objects_pb2.DaemonSet
    template_hash: str
    to_revision: int
    reason: str
    def __init__(self, daemon_set: _Optional[_Union[_objects_pb2.DaemonSet, _Mapping]] = ..., template_hash: _Optional[str] = ..., to_revision: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class DaemonSetPaused(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DaemonSetResumed(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class NodeRegistered(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: _objects_pb2.Node
    def __init__(self, node: _Optional[_Union[_objects_pb2.Node, _Mapping]] = ...) -> None: ...

class NodeLabelsChanged(_message.Message):
    __slots__ = ("node_name", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, node_name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NodeTaintsChanged(_message.Message):
    __slots__ = ("node_name", "taints")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    TAINTS_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    taints: _containers.RepeatedCompositeFieldContainer[_objects_pb2.Taint]
    def __init__(self, node_name: _Optional[str] = ..., taints: _Optional[_Iterable[_Union[_objects_pb2.Taint, _Mapping]]] = ...) -> None: ...

class NodeCordoned(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class NodeUncordoned(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class NodeConnected(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class NodeDisconnected(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class NodeLost(_message.Message):
    __slots__ = ("node_name", "lease_expired_at")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRED_AT_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    lease_expired_at: float
    def __init__(self, node_name: _Optional[str] = ..., lease_expired_at: _Optional[float] = ...) -> None: ...

class NodeDeleted(_message.Message):
    __slots__ = ("node_name",)
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    def __init__(self, node_name: _Optional[str] = ...) -> None: ...

class PodStatusReported(_message.Message):
    __slots__ = ("namespace", "pod_name", "node_name", "phase", "ready", "restart_count", "message", "reason")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    pod_name: str
    node_name: str
    phase: str
    ready: bool
    restart_count: int
    message: str
    reason: str
    def __init__(self, namespace: _Optional[str] = ..., pod_name: _Optional[str] = ..., node_name: _Optional[str] = ..., phase: _Optional[str] = ..., ready: _Optional[bool] = ..., restart_count: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PodDeleteRequested(_message.Message):
    __slots__ = ("namespace", "pod_name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    pod_name: str
    def __init__(self, namespace: _Optional[str] = ..., pod_name: _Optional[str] = ...) -> None: ...

class StaticPodReported(_message.Message):
    __slots__ = ("node_name", "pod", "file")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    pod: _objects_pb2.Pod
    file: str
    def __init__(self, node_name: _Optional[str] = ..., pod: _Optional[_Union[_objects_pb2.Pod, _Mapping]] = ..., file: _Optional[str] = ...) -> None: ...

class StaticPodRemoved(_message.Message):
    __slots__ = ("node_name", "namespace", "pod_name")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    namespace: str
    pod_name: str
    def __init__(self, node_name: _Optional[str] = ..., namespace: _Optional[str] = ..., pod_name: _Optional[str] = ...) -> None: ...

class StaticPodManifestRejected(_message.Message):
    __slots__ = ("node_name", "file", "error")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    file: str
    error: str
    def __init__(self, node_name: _Optional[str] = ..., file: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class PodScheduled(_message.Message):
    __slots__ = ("namespace", "daemon_set", "pod_name", "node_name", "revision_hash", "revision", "reason")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_HASH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    daemon_set: str
    pod_name: str
    node_name: str
    revision_hash: str
    revision: int
    reason: str
    def __init__(self, namespace: _Optional[str] = ..., daemon_set: _Optional[str] = ..., pod_name: _Optional[str] = ..., node_name: _Optional[str] = ..., revision_hash: _Optional[str] = ..., revision: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class PodDeleted(_message.Message):
    __slots__ = ("namespace", "daemon_set", "pod_name", "node_name", "reason", "message")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    daemon_set: str
    pod_name: str
    node_name: str
    reason: str
    message: str
    def __init__(self, namespace: _Optional[str] = ..., daemon_set: _Optional[str] = ..., pod_name: _Optional[str] = ..., node_name: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RolloutCompleted(_message.Message):
    __slots__ = ("namespace", "name", "revision_hash", "revision")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_HASH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    revision_hash: str
    revision: int
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., revision_hash: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class RolloutFailed(_message.Message):
    __slots__ = ("namespace", "name", "revision_hash", "revision", "reason", "message")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_HASH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    revision_hash: str
    revision: int
    reason: str
    message: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., revision_hash: _Optional[str] = ..., revision: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("seq", "stream", "version", "time", "actor", "cause_seq", "daemon_set_applied", "daemon_set_deleted", "daemon_set_rolled_back", "daemon_set_paused", "daemon_set_resumed", "node_registered", "node_labels_changed", "node_taints_changed", "node_cordoned", "node_uncordoned", "node_connected", "node_disconnected", "node_lost", "node_deleted", "pod_status_reported", "pod_delete_requested", "static_pod_reported", "static_pod_removed", "static_pod_manifest_rejected", "pod_scheduled", "pod_deleted", "rollout_completed", "rollout_failed")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CAUSE_SEQ_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_APPLIED_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_DELETED_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_ROLLED_BACK_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_PAUSED_FIELD_NUMBER: _ClassVar[int]
    DAEMON_SET_RESUMED_FIELD_NUMBER: _ClassVar[int]
    NODE_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    NODE_LABELS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    NODE_TAINTS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    NODE_CORDONED_FIELD_NUMBER: _ClassVar[int]
    NODE_UNCORDONED_FIELD_NUMBER: _ClassVar[int]
    NODE_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    NODE_DISCONNECTED_FIELD_NUMBER: _ClassVar[int]
    NODE_LOST_FIELD_NUMBER: _ClassVar[int]
    NODE_DELETED_FIELD_NUMBER: _ClassVar[int]
    POD_STATUS_REPORTED_FIELD_NUMBER: _ClassVar[int]
    POD_DELETE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    STATIC_POD_REPORTED_FIELD_NUMBER: _ClassVar[int]
    STATIC_POD_REMOVED_FIELD_NUMBER: _ClassVar[int]
    STATIC_POD_MANIFEST_REJECTED_FIELD_NUMBER: _ClassVar[int]
    POD_SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    POD_DELETED_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FAILED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    stream: str
    version: int
    time: float
    actor: str
    cause_seq: int
    daemon_set_applied: DaemonSetApplied
    daemon_set_deleted: DaemonSetDeleted
    daemon_set_rolled_back: DaemonSetRolledBack
    daemon_set_paused: DaemonSetPaused
    daemon_set_resumed: DaemonSetResumed
    node_registered: NodeRegistered
    node_labels_changed: NodeLabelsChanged
    node_taints_changed: NodeTaintsChanged
    node_cordoned: NodeCordoned
    node_uncordoned: NodeUncordoned
    node_connected: NodeConnected
    node_disconnected: NodeDisconnected
    node_lost: NodeLost
    node_deleted: NodeDeleted
    pod_status_reported: PodStatusReported
    pod_delete_requested: PodDeleteRequested
    static_pod_reported: StaticPodReported
    static_pod_removed: StaticPodRemoved
    static_pod_manifest_rejected: StaticPodManifestRejected
    pod_scheduled: PodScheduled
    pod_deleted: PodDeleted
    rollout_completed: RolloutCompleted
    rollout_failed: RolloutFailed
    def __init__(self, seq: _Optional[int] = ..., stream: _Optional[str] = ..., version: _Optional[int] = ..., time: _Optional[float] = ..., actor: _Optional[str] = ..., cause_seq: _Optional[int] = ..., daemon_set_applied: _Optional[_Union[DaemonSetApplied, _Mapping]] = ..., daemon_set_deleted: _Optional[_Union[DaemonSetDeleted, _Mapping]] = ..., daemon_set_rolled_back: _Optional[_Union[DaemonSetRolledBack, _Mapping]] = ..., daemon_set_paused: _Optional[_Union[DaemonSetPaused, _Mapping]] = ..., daemon_set_resumed: _Optional[_Union[DaemonSetResumed, _Mapping]] = ..., node_registered: _Optional[_Union[NodeRegistered, _Mapping]] = ..., node_labels_changed: _Optional[_Union[NodeLabelsChanged, _Mapping]] = ..., node_taints_changed: _Optional[_Union[NodeTaintsChanged, _Mapping]] = ..., node_cordoned: _Optional[_Union[NodeCordoned, _Mapping]] = ..., node_uncordoned: _Optional[_Union[NodeUncordoned, _Mapping]] = ..., node_connected: _Optional[_Union[NodeConnected, _Mapping]] = ..., node_disconnected: _Optional[_Union[NodeDisconnected, _Mapping]] = ..., node_lost: _Optional[_Union[NodeLost, _Mapping]] = ..., node_deleted: _Optional[_Union[NodeDeleted, _Mapping]] = ..., pod_status_reported: _Optional[_Union[PodStatusReported, _Mapping]] = ..., pod_delete_requested: _Optional[_Union[PodDeleteRequested, _Mapping]] = ..., static_pod_reported: _Optional[_Union[StaticPodReported, _Mapping]] = ..., static_pod_removed: _Optional[_Union[StaticPodRemoved, _Mapping]] = ..., static_pod_manifest_rejected: _Optional[_Union[StaticPodManifestRejected, _Mapping]] = ..., pod_scheduled: _Optional[_Union[PodScheduled, _Mapping]] = ..., pod_deleted: _Optional[_Union[PodDeleted, _Mapping]] = ..., rollout_completed: _Optional[_Union[RolloutCompleted, _Mapping]] = ..., rollout_failed: _Optional[_Union[RolloutFailed, _Mapping]] = ...) -> None: ...
